// BokehJS saved with a notebook. The first bokeh_nb output of each bokeh version in a saved
// notebook carries the BokehJS bundles its snapshots need (snapshot.ts), so that exports run
// offline. When the Jupyter server has another bokeh than the one an output was saved with
// and no kernel is there to send it, a trusted notebook's snapshots run on those saved
// bundles: they are the notebook's own code, which JupyterLab runs only once it is trusted.
// An untrusted notebook shows the output's saved picture and the trust button instead.

import type { Widget } from '@lumino/widgets';

import { OUTPUT_MIME } from './protocol';
import { notebookOf } from './sanitize';
import { scriptTexts } from './snapshot';

const OPEN = '<script data-bokeh-nb-bundle>';

/** Each bundle by a module only it defines (the module map at the end of its text). */
const MARKS: ReadonlyArray<[string, string]> = [
  ['bokeh-widgets', '"models/widgets/main":'],
  ['bokeh-tables', '"models/widgets/tables/main":'],
  ['bokeh-gl', '"models/glyphs/webgl/main":'],
  ['bokeh-mathjax', '"models/text/mathjax/main":'],
  ['bokeh', '"embed/standalone":']
];

/** The name of a saved bundle, from its text, or undefined when it is none of BokehJS's. */
export function bundleName(text: string): string | undefined {
  const tail = text.slice(-20000);
  return MARKS.find(([, mark]) => tail.includes(mark))?.[0];
}

/** The bundles one output's `text/html` carries, by name. */
export function bundlesIn(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const text of scriptTexts(html, OPEN)) {
    const name = bundleName(text);
    if (name !== undefined && !found.has(name)) {
      found.set(name, text);
    }
  }
  return found;
}

interface IOutputLike {
  data: Record<string, unknown>;
}

interface ICellLike {
  type: string;
  outputs?: { length: number; get(index: number): IOutputLike };
}

/** The notebook an output is in, once the output is placed in it (a notebook renders an
 * output before adding it to its cell); null when it is in none within `ms`. */
async function notebookCells(widget: Widget, ms = 10_000): Promise<Iterable<ICellLike> | null> {
  const until = performance.now() + ms;
  for (;;) {
    const cells = notebookOf(widget)?.model?.cells as unknown as Iterable<ICellLike> | undefined;
    if (cells !== undefined) {
      return cells;
    }
    if (widget.isDisposed || performance.now() > until) {
      return null;
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** The BokehJS bundles of `version` that the notebook holding `widget` carries in its
 * saved outputs, by name (empty when it carries none). */
export async function savedBundles(widget: Widget, version: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const cells = await notebookCells(widget);
  for (const cell of cells ?? []) {
    const outputs = cell.type === 'code' ? cell.outputs : undefined;
    for (let i = 0; outputs !== undefined && i < outputs.length; i++) {
      const data = outputs.get(i).data;
      const meta = data[OUTPUT_MIME] as { bokeh_version?: unknown } | undefined;
      const html = data['text/html'];
      if (meta?.bokeh_version !== version || typeof html !== 'string') {
        continue;
      }
      for (const [name, text] of bundlesIn(html)) {
        if (!found.has(name)) {
          found.set(name, text);
        }
      }
    }
  }
  return found;
}

/** The picture an output was saved with (its `image/png`), or null. */
export function savedPicture(data: Record<string, unknown>): HTMLImageElement | null {
  const png = data['image/png'];
  if (typeof png !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(png)) {
    return null;
  }
  const img = document.createElement('img');
  img.className = 'bokeh-nb-picture';
  img.alt = 'Bokeh plot (the picture saved with the notebook)';
  img.src = `data:image/png;base64,${png.replace(/\s/g, '')}`;
  img.style.maxWidth = '100%';
  return img;
}
