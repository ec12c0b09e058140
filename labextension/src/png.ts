// Pictures: the `image/png` a bokeh_nb output keeps beside its snapshot, for viewers that
// run no scripts (code hosts' notebook previews, PDF and Markdown exports; see
// docs/snapshots.md). Drawn at save time from the output's view on this page with
// BokehJS's own export (each plot's canvases; widgets are not drawn), so it shows what the
// page shows, at the size the page lays it out.

import type { IBkDocument, IBokehJS } from './bokehjs';

/** The longest side of a picture, in pixels: a larger view is scaled down to it. */
export const PNG_MAX_SIDE = 1600;
/** The most base64 text a picture may take; a larger one is not kept (its output says so). */
export const PNG_MAX_BYTES = 1024 * 1024;

/** An output's picture: base64 PNG data and its size in pixels, or why there is none. */
export type Picture = { png: string; width: number; height: number } | { note: string };

/** Where pictures come from: the picture of an output's models drawn now with BokehJS bk
 * (one for a bokeh_nb output, those it holds for an ipywidgets container's), or null when
 * this page has no view of them to draw. */
export type PictureSource = (modelIds: string[], bk: IBokehJS) => Picture | null;

interface IExportedLayer {
  readonly canvas: HTMLCanvasElement;
}

interface IRootView {
  readonly model: { readonly document?: unknown };
  readonly el: HTMLElement;
  export?(type: 'png', hidpi: boolean): IExportedLayer;
}

/** The root views of doc that are laid out in this page, one per root, in root order. */
function rootViews(bk: IBokehJS, doc: IBkDocument): IRootView[] {
  const all = [...(bk.index as Iterable<IRootView>)];
  const views: IRootView[] = [];
  for (const root of doc.roots()) {
    const view = all.find(
      v => v.model === root && v.el.isConnected && typeof v.export === 'function'
    );
    if (view !== undefined && view.el.getBoundingClientRect().width > 0) {
      views.push(view);
    }
  }
  return views;
}

/** How a note on an output's missing picture starts (its `text/plain` says it). */
export const NO_PICTURE = 'No picture of this output was kept';

/** Is every pixel of the canvas the same (a layout of widgets only: nothing drawn)? */
function oneColour(ctx: CanvasRenderingContext2D, width: number, height: number): boolean {
  const pixels = new Uint32Array(ctx.getImageData(0, 0, width, height).data.buffer);
  const first = pixels[0];
  return pixels.every(p => p === first);
}

/** Scale factor that fits width x height into PNG_MAX_SIDE. */
function fit(width: number, height: number): number {
  return Math.min(1, PNG_MAX_SIDE / Math.max(width, height, 1));
}

/** The picture of documents' views on this page (roots stacked top to bottom, document
 * after document), or null when none of them is laid out here. Synchronous: BokehJS
 * paints its export at once. */
export function documentPicture(bk: IBokehJS, docs: IBkDocument[]): Picture | null {
  const views = docs.flatMap(doc => rootViews(bk, doc));
  if (views.length === 0) {
    return null;
  }
  const hidpi = (window.devicePixelRatio || 1) > 1;
  const layers = views
    .map(view => view.export!('png', hidpi).canvas)
    .filter(canvas => canvas.width > 0 && canvas.height > 0);
  if (layers.length === 0) {
    return null;
  }
  const fullWidth = Math.max(...layers.map(c => c.width));
  const fullHeight = layers.reduce((sum, c) => sum + c.height, 0);
  const scale = fit(fullWidth, fullHeight);
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(fullWidth * scale));
  canvas.height = Math.max(1, Math.round(fullHeight * scale));
  const ctx = canvas.getContext('2d');
  if (ctx === null) {
    return null;
  }
  ctx.fillStyle = '#ffffff'; // opaque, so dark viewer themes show the plot as drawn
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let y = 0;
  for (const layer of layers) {
    ctx.drawImage(layer, 0, y, layer.width * scale, layer.height * scale);
    y += layer.height * scale;
  }
  if (oneColour(ctx, canvas.width, canvas.height)) {
    return { note: `${NO_PICTURE}: it shows no plot (a picture draws plots, not widgets).` };
  }
  const png = canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  if (png.length > PNG_MAX_BYTES) {
    return {
      note:
        `${NO_PICTURE}: its PNG (${(png.length / 1048576).toFixed(1)} MB) ` +
        `is over the bound of ${(PNG_MAX_BYTES / 1048576).toFixed(1)} MB.`
    };
  }
  return { png, width: canvas.width, height: canvas.height };
}
