// The code of a document's custom models (`__implementation__` models, extension
// packages), as the kernel sends it in a PULL-DOC-REPLY (bokeh_nb/kernel/extensions.py):
// run once per page with the BokehJS of the document's version, before the document is
// built, so its models are registered. Used by notebook outputs (widget.ts) and by app
// pages (page/app.ts); it depends on nothing else, so the page script can bundle it.

import { EXTENSIONS_ERROR_KEY, EXTENSIONS_KEY, IExtensionPart } from './protocol';

/** Why a document's custom models are not available, in words for the person looking. */
export class ExtensionError extends Error {}

/** The bundles this page ran, by BokehJS version and SHA-256. */
const ran = new Set<string>();

type Registry = Record<string, object | undefined>;

function isPart(part: unknown): part is IExtensionPart {
  const p = part as Partial<IExtensionPart> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.name === 'string' &&
    typeof p.sha256 === 'string' &&
    typeof p.code === 'string'
  );
}

/** Run one bundle with `window.Bokeh[bokehKey]` as the `Bokeh` it registers its models
 * with (also under its own key, as prebuilt bundles may look it up by version), so it
 * registers with the right BokehJS where several versions share a page. */
function run(part: IExtensionPart, bokehKey: string): void {
  const registry = (window as unknown as { Bokeh?: Registry }).Bokeh;
  const bokeh = registry?.[bokehKey];
  if (bokeh === undefined) {
    throw new ExtensionError(`BokehJS ${bokehKey} is not on this page for ${part.name}.`);
  }
  const shim = Object.create(bokeh) as Registry;
  shim[bokehKey] = bokeh;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function(part.code).call({ Bokeh: shim });
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new ExtensionError(`The code of the custom models (${part.name}) failed in this browser: ${why}`);
  }
}

/** Run the custom model code a PULL-DOC-REPLY's content carries (each bundle once per
 * page); rejects with the kernel's message when it could not build that code, or when
 * the code fails here. `bokehKey` is the BokehJS version as it registers itself. */
export function loadExtensions(content: Record<string, unknown>, bokehKey: string): void {
  const error = content[EXTENSIONS_ERROR_KEY];
  if (typeof error === 'string') {
    throw new ExtensionError(`bokeh_nb: ${error}`);
  }
  const parts = content[EXTENSIONS_KEY];
  if (!Array.isArray(parts)) {
    return;
  }
  for (const part of parts) {
    if (!isPart(part)) {
      throw new ExtensionError('bokeh_nb: the kernel sent custom model code it could not read.');
    }
    const key = `${bokehKey}/${part.sha256}`;
    if (!ran.has(key)) {
      run(part, bokehKey);
      ran.add(key);
    }
  }
}

/** Whether this page ran custom model code (tests read this). */
export function extensionsRun(): number {
  return ran.size;
}
