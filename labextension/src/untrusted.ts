// What of a saved snapshot an untrusted notebook shows (docs/snapshots.md, "Trust").
//
// The decision is an allowlist of BokehJS model names known to run no code and load
// nothing, checked over the parsed document: every `{"type": "object", "name": ...}`
// wherever it appears. A model not on the list is withheld with every reference to it;
// the rest is rebuilt without it, and the text a model puts into the page as HTML goes
// through the cleaner the caller gives (JupyterLab's sanitizer). Pure functions: the
// document BokehJS receives is the object checked here, never the text re-parsed.

import { printable, withheldReason } from './allowlist';

/** What an untrusted notebook may show of a snapshot. */
export interface IUntrusted {
  /** The document for `Document.from_json`: what remains once the withheld is out. */
  doc: Record<string, unknown>;
  /** What was withheld, in words: model names, then parts of models. */
  withheld: string[];
  /** How many texts went through the HTML cleaner. */
  cleaned: number;
}

/** Puts a text that a model shows as HTML into a form that runs and loads nothing. */
export type HtmlCleaner = (html: string) => string;

const REMOVED: unique symbol = Symbol('removed');
type Out = unknown;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Markup models whose text is HTML: their math is turned off (it would run MathJax). */
const MARKUP = new Set(['Div', 'Paragraph', 'PreText']);
/** Attributes whose strings are data, compared or drawn as given, never HTML. */
const DATA_KEYS = new Set(['data', 'geojson', 'factors', 'group', 'indices', 'palette']);
/** Attributes that are never shown. */
const QUIET_KEYS = new Set(['name', 'tags', 'id', 'css_classes']);
/** Attributes that hold CSS. */
const CSS_KEYS = new Set(['styles', 'stylesheets', 'css', 'css_variables']);
const CSS_OWNERS = new Set(['Styles', 'InlineStyleSheet']);
/** Attributes set as text (never parsed as HTML), so they keep their `<`. */
const TEXT_KEYS = new Set([
  'Tooltip.content', 'Paragraph.text', 'PreText.text', 'Title.text', 'Label.text',
  'HTMLLabel.text', 'HTMLTitle.text'
]); // prettier-ignore
/** What in CSS may load something or hide it from this check. */
export const CSS_LOADS = /url\s*\(|@import|image-set|image\s*\(|cross-fade|element\s*\(|src\s*\(|@font-face|@namespace|expression\s*\(|\\/i;
/** CSS that takes content out of its output to draw over the page (and over the trust
 * button and dialog): `position: fixed` or `sticky`, also as a lone value of a style map. */
export const CSS_COVERS = /position\s*:\s*(fixed|sticky)|^\s*(fixed|sticky)\s*(!\s*important)?\s*$/i;
/** TeX delimiters: BokehJS hands such text to MathJax. */
const TEX = /\$\$|\\\[|\\\(/;
/** A hover template's `{safe}` puts data into the page as HTML. */
const SAFE = /\{\s*safe\s*\}/gi;
/** Value types BokehJS decodes that hold no model name of their own. */
const VALUE_TYPES = new Set([
  'ref', 'symbol', 'number', 'array', 'set', 'map', 'bytes', 'slice', 'date', 'value',
  'field', 'expr', 'typed_array', 'ndarray'
]); // prettier-ignore

/** Value types whose strings are data: column names, values, base64. */
const DATA_TYPES = new Set([
  'field', 'value', 'expr', 'bytes', 'ndarray', 'typed_array', 'number', 'date', 'slice',
  'symbol'
]); // prettier-ignore

interface IContext {
  owner: string;
  key: string;
  data: boolean;
}

class Filter {
  private _defs = new Map<string, Plain>();
  private _names = new Map<string, Set<unknown>>();
  private _custom = new Set<unknown>();
  private _emitted = new Set<string>();
  private _withheld = new Set<string>();
  private _parts = new Set<string>();
  cleaned = 0;

  constructor(private _clean: HtmlCleaner) {}

  /** Every model definition and name, wherever it is. */
  collect(value: unknown): void {
    if (Array.isArray(value)) {
      value.forEach(item => this.collect(item));
      return;
    }
    if (!isPlain(value)) {
      return;
    }
    if (value.type === 'model') {
      this._custom.add(value.name);
    } else if (value.type === 'object' && typeof value.id === 'string') {
      if (!this._defs.has(value.id)) {
        this._defs.set(value.id, value);
      }
      const names = this._names.get(value.id) ?? new Set();
      names.add(value.name);
      this._names.set(value.id, names);
    }
    for (const item of Object.values(value)) {
      this.collect(item);
    }
  }

  private _allowed(name: unknown): boolean {
    return withheldReason(name) === null && !this._custom.has(name);
  }

  private _withhold(name: unknown): typeof REMOVED {
    this._withheld.add(printable(name));
    return REMOVED;
  }

  /** An id is shown when every definition of it names an allowed model. */
  private _idAllowed(id: string): boolean {
    return [...(this._names.get(id) ?? [])].every(name => this._allowed(name));
  }

  private _model(node: Plain): Out {
    const { name, id } = node;
    if (typeof id === 'string') {
      if (!this._idAllowed(id)) {
        const names = [...(this._names.get(id) ?? [name])];
        names.filter(n => !this._allowed(n)).forEach(n => this._withhold(n));
        return REMOVED;
      }
      if (this._emitted.has(id)) {
        return { id };
      }
      this._emitted.add(id);
    } else if (!this._allowed(name)) {
      return this._withhold(name);
    }
    const owner = name as string;
    const attributes: Plain = {};
    for (const [key, value] of Object.entries(isPlain(node.attributes) ? node.attributes : {})) {
      if (this._prototypeKey(key)) {
        continue;
      }
      const out = this.rebuild(value, { owner, key, data: DATA_KEYS.has(key) });
      if (out !== REMOVED) {
        attributes[key] = out;
      }
    }
    if (MARKUP.has(owner)) {
      attributes.disable_math = true;
    }
    const model: Plain = { type: 'object', name: owner };
    if (typeof id === 'string') {
      model.id = id;
    }
    model.attributes = attributes;
    return model;
  }

  /** A reference: removed with its model, or that model's definition where the first
   * one was inside something withheld. */
  private _ref(id: string): Out {
    if (!this._names.has(id)) {
      return { id }; // BokehJS says it is unknown
    }
    if (!this._idAllowed(id)) {
      return this._model(this._defs.get(id)!);
    }
    return this._emitted.has(id) ? { id } : this._model(this._defs.get(id)!);
  }

  private _string(text: string, ctx: IContext): Out {
    const { owner, key } = ctx;
    if (ctx.data || QUIET_KEYS.has(key)) {
      return text;
    }
    const where = `${printable(owner)}.${printable(key)}`;
    if (CSS_KEYS.has(key) || CSS_OWNERS.has(owner)) {
      if (CSS_LOADS.test(text) || CSS_COVERS.test(text)) {
        this._parts.add(`CSS that could load something or cover the page (${where})`);
        return REMOVED;
      }
      return text;
    }
    if (key === 'redirect' && !/^https?:\/\//i.test(text.trim())) {
      this._parts.add(`a link that is not http(s) (${where})`);
      return REMOVED;
    }
    if (TEX.test(text) && !(MARKUP.has(owner) && key === 'text')) {
      this._parts.add(`TeX text (${where})`);
      return REMOVED;
    }
    const shown = key === 'tooltips' ? text.replace(SAFE, '') : text;
    if (TEXT_KEYS.has(`${owner}.${key}`) || !shown.includes('<')) {
      return shown;
    }
    this.cleaned += 1;
    return this._clean(shown);
  }

  rebuild(value: unknown, ctx: IContext): Out {
    if (typeof value === 'string') {
      return this._string(value, ctx);
    }
    if (Array.isArray(value)) {
      return value.map(item => this.rebuild(item, ctx)).filter(item => item !== REMOVED);
    }
    if (!isPlain(value)) {
      return value;
    }
    const type = value.type;
    if (type === 'object') {
      return this._model(value);
    }
    if (type === 'model') {
      this._parts.add('a model definition');
      return REMOVED;
    }
    if (typeof type === 'string' && !VALUE_TYPES.has(type)) {
      this._parts.add(`a value of unknown type ${printable(type)}`);
      return REMOVED;
    }
    if ((type === undefined || type === 'ref') && typeof value.id === 'string') {
      return this._ref(value.id);
    }
    if (type === 'map') {
      const entries: unknown[] = [];
      for (const entry of Array.isArray(value.entries) ? value.entries : []) {
        if (Array.isArray(entry) && entry.length === 2) {
          const k = this.rebuild(entry[0], { ...ctx, data: true });
          const v = this.rebuild(entry[1], ctx);
          if (k !== REMOVED && v !== REMOVED) {
            entries.push([k, v]);
          }
        }
      }
      return { type, entries };
    }
    // a field or value spec names a column or holds a value drawn as given
    const inner = typeof type === 'string' && DATA_TYPES.has(type);
    const out: Plain = {};
    for (const [k, v] of Object.entries(value)) {
      if (this._prototypeKey(k)) {
        continue;
      }
      const item = this.rebuild(v, inner ? { ...ctx, data: k !== 'transform' } : ctx);
      if (item !== REMOVED) {
        out[k] = item;
      } else if (type === 'expr' && k === 'expr') {
        return REMOVED;
      }
    }
    return out;
  }

  /** `__proto__` as a key (JSON.parse makes it an own property) would set the rebuilt
   * object's prototype, whose values BokehJS might read past these checks. */
  private _prototypeKey(key: string): boolean {
    if (key === '__proto__') {
      this._parts.add('a __proto__ key');
    }
    return key === '__proto__';
  }

  withheld(): string[] {
    return [...[...this._withheld].sort(), ...[...this._parts].sort()];
  }

  customCount(): number {
    return this._custom.size;
  }
}

/** The part of a snapshot (`Document.to_json()`, parsed) an untrusted notebook shows.
 * Throws on a document that is not an object. */
export function untrustedDocument(json: unknown, clean: HtmlCleaner): IUntrusted {
  if (!isPlain(json)) {
    throw new Error('it is not a Bokeh document');
  }
  const filter = new Filter(clean);
  filter.collect(json);
  const top: IContext = { owner: 'Document', key: '', data: false };
  const doc: Plain = {};
  if (typeof json.version === 'string') {
    doc.version = json.version;
  }
  if (typeof json.title === 'string') {
    doc.title = json.title;
  }
  // in the order BokehJS decodes them: config, roots, callbacks
  if (json.config !== undefined) {
    const config = filter.rebuild(json.config, { ...top, key: 'config' });
    if (config !== REMOVED && isPlain(config)) {
      doc.config = config;
    }
  }
  const roots = filter.rebuild(Array.isArray(json.roots) ? json.roots : [], {
    ...top,
    key: 'roots'
  });
  doc.roots = roots;
  if (isPlain(json.callbacks)) {
    doc.callbacks = filter.rebuild(json.callbacks, { ...top, key: 'callbacks' });
  }
  const withheld = filter.withheld();
  const defs = json.defs;
  if (filter.customCount() > 0 || (Array.isArray(defs) ? defs.length > 0 : defs != null)) {
    withheld.push('model definitions (defs)');
  }
  return { doc, withheld: [...new Set(withheld)], cleaned: filter.cleaned };
}
