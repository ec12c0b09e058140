// Snapshots: what a bokeh_nb output keeps so it outlives its kernel (docs/snapshots.md).
//
// At every save of a notebook, each bokeh_nb output's `text/html` is rewritten to hold its
// document as it is now (BokehJS's `Document.to_json()`, in a `<script>` of type
// SNAPSHOT_SCRIPT_TYPE) and a small loader; the first output with a snapshot also carries
// the BokehJS bundles the snapshots need, once per notebook. JupyterLab renders the
// OUTPUT_MIME entry instead (output.ts); nbconvert's HTML and other viewers that run the
// `text/html` get a self-contained, offline page; viewers that run no scripts show the
// fallback text.

import { bundleSource, IBkDocument, IBokehJS } from './bokehjs';
import { NO_PICTURE } from './png';
import type { Picture, PictureSource } from './png';
import {
  CONTAINER_MIME,
  CORE_BUNDLES,
  OUTPUT_MIME,
  SHARE_MIME,
  SNAPSHOT_FALLBACK,
  SNAPSHOT_FORMAT,
  SNAPSHOT_SCRIPT_TYPE
} from './protocol';
import { savedShareEntry, IShareEntry } from './shares';
import { LOADER } from './snapshotLoader';

/** The OUTPUT_MIME entry of an output's bundle. */
export interface IOutputMeta {
  format: string;
  bokeh_version: string;
  bundles: string[];
  max_bytes: number;
  snapshot_bytes?: number;
  saved?: string;
  note?: string;
  /** The size in pixels of the output's `image/png`, when it has one. */
  picture?: { width: number; height: number };
  /** An ipywidgets container's entry (CONTAINER_MIME): the widget model ids of the
   * bokeh_nb outputs it holds, in order. */
  models?: string[];
}

export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

const OPEN = `<script type="${SNAPSHOT_SCRIPT_TYPE}">`;

/** The document as snapshot text: JSON with every `<` escaped, so the text can sit inside
 * a `<script>` element and nothing in it can close that element. */
export function snapshotText(doc: IBkDocument): string {
  return JSON.stringify(doc.to_json(false)).replace(/</g, '\\u003c');
}

/** The snapshot text an output's `text/html` holds, or null. */
export function readSnapshot(html: unknown): string | null {
  return readSnapshots(html)[0] ?? null;
}

/** Every snapshot text an output's `text/html` holds, in order (an ipywidgets container's
 * output holds one per bokeh_nb output in it). */
export function readSnapshots(html: unknown): string[] {
  return typeof html === 'string' ? scriptTexts(html, OPEN) : [];
}

/** The texts of the scripts in html that open with openTag, in order (a script with no
 * end, the html cut short, is left out). */
export function scriptTexts(html: string, openTag: string): string[] {
  const found: string[] = [];
  let start = html.indexOf(openTag);
  while (start >= 0) {
    const end = html.indexOf('</script>', start + openTag.length);
    if (end < 0) {
      break;
    }
    found.push(html.slice(start + openTag.length, end));
    start = html.indexOf(openTag, end);
  }
  return found;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

// The loader that renders a snapshot where its HTML's scripts run is shared with the
// kernel, which writes the same snapshots where no page is attached (snapshotLoader.ts).

/** An output's `text/html`: fallback text (with the output's picture, for viewers that
 * run no scripts but show HTML: the loader removes it where the snapshot renders), and the
 * snapshot with its loader (and the BokehJS bundles, for the notebook's first snapshot)
 * when there is one. */
export function snapshotHtml(
  meta: IOutputMeta,
  snapshot: string | null,
  bundles: string[],
  png: string | null = null
): string {
  const scripts = bundles
    .map(src => `<script data-bokeh-nb-bundle>${src.replace(/<\/script/gi, '<\\/script')}</script>`)
    .join('\n');
  const note = meta.note ? `${meta.note} ` : '';
  const body = snapshot === null ? '' : `${OPEN}${snapshot}</script><script>${LOADER}</script>`;
  // base64 text only (checked), so nothing in it can leave the attribute
  const img =
    png !== null && /^[A-Za-z0-9+/=]*$/.test(png)
      ? `<img class="bokeh-nb-picture" alt="Bokeh plot" ` +
        `src="data:image/png;base64,${png}"><br>`
      : '';
  return (
    scripts +
    `<div class="bokeh-nb-snapshot" data-bokeh-version="${escapeHtml(meta.bokeh_version)}">` +
    `<div class="bokeh-nb-fallback">${img}${escapeHtml(note + SNAPSHOT_FALLBACK)}</div>${body}</div>`
  );
}

/** The names of the models in a snapshot's text. */
function modelNames(snapshot: string): Set<string> {
  const names = new Set<string>();
  for (const match of snapshot.matchAll(/"type":"object","name":"([\w.]+)"/g)) {
    names.add(match[1]);
  }
  return names;
}

/** The BokehJS bundles a set of snapshots needs, in load order. */
export function bundlesFor(bk: IBokehJS, snapshots: string[]): string[] {
  const names = new Set(snapshots.flatMap(s => [...modelNames(s)]));
  const needs = (bundle: string): boolean => {
    if (bundle === 'bokeh') {
      return true;
    }
    if (bundle === 'bokeh-gl') {
      return snapshots.some(s => s.includes('"output_backend":"webgl"'));
    }
    const defined = bk.modelsOf(bundle);
    return [...names].some(name => defined.has(name));
  };
  return CORE_BUNDLES.filter(needs);
}

/** An output's bundle as a notebook stores it (nbformat's `display_data`). */
export interface IStoredOutput {
  output_type: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The outputs of one code cell (JupyterLab's IOutputAreaModel, as far as used here). */
export interface IOutputList {
  readonly length: number;
  get(index: number): { toJSON(): IStoredOutput };
  set(index: number, value: IStoredOutput): void;
}

/** One document of an output: a bokeh_nb output has one, an ipywidgets container's
 * output one per bokeh_nb output in it. */
interface IPart {
  modelId: string;
  snapshot: string | null;
  note: string;
}

interface IEntry {
  /** OUTPUT_MIME, or CONTAINER_MIME for an ipywidgets container's output. */
  mime: string;
  parts: IPart[];
  outputs: IOutputList;
  index: number;
  stored: IStoredOutput;
  data: Record<string, unknown>;
  meta: IOutputMeta;
  /** The picture drawn now; null: keep the stored one if it shows this snapshot. */
  picture: Picture | null;
}

const PNG_MIME = 'image/png';
/** How a note on the output's picture starts in its `text/plain` (replaced at each save). */
const PICTURE_NOTE = NO_PICTURE;

/** Where snapshots come from: the live document of an output's model in this page, or
 * the last state of one that ended here; null when this page has neither. */
export type SnapshotSource = (modelId: string) => string | null;
/** The picture of the documents of some outputs' models, drawn now (null: none here). */
type Pictures = (modelIds: string[]) => Picture | null;

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** An output's documents: the live ones of this page, else those its HTML holds. */
function partsOf(
  data: Record<string, unknown>,
  meta: IOutputMeta,
  modelIds: string[],
  source: SnapshotSource
): { parts: IPart[]; live: boolean; changed: boolean } {
  const stored = readSnapshots(data['text/html']);
  let live = false;
  let changed = stored.length !== modelIds.length;
  const parts = modelIds.map((modelId, k) => {
    const current = source(modelId);
    live = live || current !== null;
    changed = changed || (current !== null && current !== stored[k]);
    let snapshot: string | null = current ?? stored[k] ?? null;
    let note = current === null ? (meta.note ?? '') : '';
    if (snapshot !== null && snapshot.length > meta.max_bytes) {
      note =
        meta.max_bytes === 0
          ? 'Snapshots are off for this output (bokeh_nb.snapshot_limit(0)): it is empty ' +
            'without its kernel.'
          : `The document (${mb(snapshot.length)}) is over this output's snapshot bound ` +
            `(${mb(meta.max_bytes)}): no snapshot was saved, so it is empty without its ` +
            'kernel. bokeh_nb.snapshot_limit(n_bytes) sets the bound for outputs shown after it.';
      snapshot = null;
    }
    return { modelId, snapshot, note };
  });
  return { parts, live, changed };
}

function entryFor(
  outputs: IOutputList,
  index: number,
  source: SnapshotSource,
  pictures: Pictures
): IEntry | null {
  const stored = outputs.get(index).toJSON();
  const data = stored.data;
  if (data === undefined) {
    return null;
  }
  const mime = data[OUTPUT_MIME] !== undefined ? OUTPUT_MIME : CONTAINER_MIME;
  const meta = data[mime] as IOutputMeta | undefined;
  if (meta === undefined || meta.format !== SNAPSHOT_FORMAT) {
    return null;
  }
  const view = (data[WIDGET_VIEW_MIME] as { model_id?: string } | undefined)?.model_id ?? '';
  const modelIds =
    mime === OUTPUT_MIME
      ? [view]
      : (meta.models ?? []).filter((id): id is string => typeof id === 'string');
  if (modelIds.length === 0) {
    return null;
  }
  const { parts, live, changed } = partsOf(data, meta, modelIds, source);
  // a picture also for a document over the snapshot bound: it is then all that shows
  let picture: Picture | null = null;
  if (live) {
    picture = pictures(modelIds);
    if (picture === null && changed) {
      // the document changed and this page has no view to draw: an old picture would lie
      picture = {
        note: `${PICTURE_NOTE}: the output was not laid out on the page when it was saved.`
      };
    }
  }
  return { mime, parts, outputs, index, stored, data, meta, picture };
}

/** The bundle entries of an output's picture: `image/png` and its size, or the note in
 * `text/plain` that says why there is none; the stored ones when picture is null. */
function withPicture(
  entry: IEntry,
  meta: IOutputMeta
): { data: Record<string, unknown>; png: string | null } {
  const data = { ...entry.data };
  const picture = entry.picture;
  delete meta.picture;
  if (picture === null) {
    const png = typeof data[PNG_MIME] === 'string' ? (data[PNG_MIME] as string) : null;
    if (png !== null && entry.meta.picture) {
      meta.picture = entry.meta.picture;
    }
    return { data, png };
  }
  const plain = String(data['text/plain'] ?? '')
    .split('\n')
    .filter(line => !line.startsWith(PICTURE_NOTE))
    .join('\n');
  if ('png' in picture) {
    data[PNG_MIME] = picture.png;
    meta.picture = { width: picture.width, height: picture.height };
    data['text/plain'] = plain;
    return { data, png: picture.png };
  }
  delete data[PNG_MIME];
  data['text/plain'] = `${picture.note}\n${plain}`;
  return { data, png: null };
}

/** A share link's output as a notebook file keeps it: without the link (shares.ts). True
 * when the output was rewritten. */
function saveShare(outputs: IOutputList, index: number): boolean {
  const stored = outputs.get(index).toJSON();
  const entry = stored.data?.[SHARE_MIME] as IShareEntry | undefined;
  if (entry === undefined || entry.state === 'saved') {
    return false;
  }
  const saved = String(stored.data!['text/plain'] ?? '');
  outputs.set(index, { ...stored, data: { ...stored.data, [SHARE_MIME]: savedShareEntry(entry, saved) } });
  return true;
}

/** Rewrite every bokeh_nb output whose snapshot or picture changed; the first snapshot of
 * each BokehJS version carries the bundles. Synchronous: it runs as the save starts,
 * before the notebook is serialized. Outputs of a version whose bundles this page never
 * loaded are left as they are. */
export function saveSnapshots(
  areas: Iterable<IOutputList>,
  source: SnapshotSource,
  bokehjs: (version: string) => IBokehJS | undefined,
  pictures: PictureSource = () => null
): { rewritten: number; modelIds: Set<string> } {
  const entries: IEntry[] = [];
  let rewritten = 0;
  for (const outputs of areas) {
    for (let i = 0; i < outputs.length; i++) {
      rewritten += saveShare(outputs, i) ? 1 : 0;
      const entry = entryFor(outputs, i, source, modelIds => {
        const data = outputs.get(i).toJSON().data;
        const meta = (data?.[OUTPUT_MIME] ?? data?.[CONTAINER_MIME]) as IOutputMeta;
        const bk = bokehjs(meta.bokeh_version);
        return bk === undefined ? null : pictures(modelIds, bk);
      });
      if (entry !== null) {
        entries.push(entry);
      }
    }
  }
  const modelIds = new Set(entries.flatMap(e => e.parts.map(p => p.modelId)));
  const versions = new Set(entries.map(e => e.meta.bokeh_version));
  for (const version of versions) {
    const mine = entries.filter(e => e.meta.bokeh_version === version);
    const snapshots = mine.flatMap(e =>
      e.parts.flatMap(p => (p.snapshot === null ? [] : [p.snapshot]))
    );
    const bk = bokehjs(version);
    if (bk === undefined && snapshots.length > 0) {
      continue;
    }
    const names = bk === undefined ? [] : bundlesFor(bk, snapshots);
    const sources = names.map(name => bundleSource(version, name));
    if (sources.some(s => s === undefined)) {
      continue;
    }
    let carrier = true;
    for (const entry of mine) {
      const notes = [...new Set(entry.parts.map(p => p.note).filter(n => n !== ''))];
      const meta: IOutputMeta = { ...entry.meta, note: notes.join(' ') };
      meta.snapshot_bytes = entry.parts.reduce((n, p) => n + (p.snapshot?.length ?? 0), 0);
      const withBundles: boolean = carrier && entry.parts.some(p => p.snapshot !== null);
      carrier = carrier && !withBundles;
      const { data, png } = withPicture(entry, meta);
      const bundles = withBundles ? (sources as string[]) : [];
      // one snapshot after another, each rendered by its loader in its own place; the
      // picture (all of them stacked) in the first one's fallback
      const html = entry.parts
        .map((part, k) =>
          snapshotHtml(
            { ...meta, note: part.note },
            part.snapshot,
            k === 0 ? bundles : [],
            k === 0 ? png : null
          )
        )
        .join('');
      if (
        html === entry.data['text/html'] &&
        data[PNG_MIME] === entry.data[PNG_MIME] &&
        data['text/plain'] === entry.data['text/plain']
      ) {
        continue;
      }
      meta.saved = new Date().toISOString();
      Object.assign(data, { 'text/html': html, [entry.mime]: meta });
      entry.outputs.set(entry.index, { ...entry.stored, data });
      rewritten += 1;
    }
  }
  return { rewritten, modelIds };
}
