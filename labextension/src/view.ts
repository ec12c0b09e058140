// The ipywidgets view of a live Bokeh document: every view of an output renders the one
// BokehJS Document its model (widget.ts) holds, and removes only its own views of it.

import { DOMWidgetView } from '@jupyter-widgets/base';

import {
  BokehJSLoadError,
  IBkDocument,
  IBkEvent,
  IBkViewManager,
  IBokehJS,
  renderRoot
} from './bokehjs';
import { SHARE_SECONDS } from './protocol';
import { appUrl, createShare } from './shares';
import { errorBox, statusBadge, StreamOutput } from './ui';
import type { BokehModel } from './widget';
import { IStreamText, readStreamFrame } from './wire';

/** Above this much column data, an output asks before it pulls and draws its document:
 * BokehJS indexes and draws every point on the page's one thread, which can keep the tab
 * busy for seconds. */
export const LARGE_OUTPUT_BYTES = 64 * 1048576;

function largeOutputText(bytes: number): string {
  const mb = (bytes / 1e6).toFixed(0);
  return (
    `This output holds ${mb} MB of data. Showing it means receiving all of it and ` +
    'drawing every point, which can keep this tab busy for a while. ' +
    'Reduce the data in the kernel (decimate, aggregate) or show it anyway.'
  );
}

const RECONNECTING =
  'Reconnecting to the kernel: this output shows its state from before the connection ' +
  "dropped and catches up with the kernel's changes once it is back.";

function isA(value: unknown, cls: abstract new (...args: never[]) => unknown): boolean {
  return value instanceof cls;
}

/** "Open in new tab" and "Copy share link" for an output that shows a session of a live
 * app (see bokeh_nb/kernel/app.py and server/shares.py); null for a plain document. */
function appToolbar(appName: string, kernelId: string): HTMLElement | null {
  if (!appName || !kernelId) {
    return null;
  }
  const bar = document.createElement('div');
  bar.className = 'bokeh-nb-toolbar';
  bar.style.cssText =
    'display:flex;gap:8px;align-items:center;margin:0 0 4px 0;' +
    'font-size:var(--jp-ui-font-size0,11px);color:var(--jp-ui-font-color2,#616161);';
  const open = document.createElement('a');
  open.textContent = 'Open in new tab';
  open.target = '_blank';
  open.rel = 'noopener';
  open.href = appUrl(kernelId, appName);
  const mode = document.createElement('select');
  mode.title = 'What people with the link may do';
  for (const [value, label] of [
    ['view', 'view only'],
    ['interact', 'interact']
  ]) {
    mode.add(new Option(label, value));
  }
  const share = document.createElement('button');
  share.textContent = 'Copy share link';
  share.title = 'A link for people without a login to this server; it expires in an hour';
  const status = document.createElement('input');
  status.className = 'bokeh-nb-share-url';
  status.readOnly = true;
  status.hidden = true;
  status.style.cssText = 'flex:1;min-width:0;font-size:inherit;';
  share.onclick = async () => {
    share.disabled = true;
    try {
      const link = await createShare(kernelId, appName, mode.value, SHARE_SECONDS);
      status.value = link.url;
      status.hidden = false;
      status.select();
      try {
        await navigator.clipboard.writeText(link.url);
        share.textContent = 'Copied';
      } catch {
        share.textContent = 'Copy the link';
      }
    } catch (err) {
      status.value = `No share link: ${(err as Error).message}`;
      status.hidden = false;
    } finally {
      share.disabled = false;
    }
  };
  bar.append(open, mode, share, status);
  return bar;
}

/** The views of one output on this page, oldest first, and the one a person last used. */
interface IViews {
  all: BokehView[];
  used: BokehView | null;
}

const viewsOf = new WeakMap<BokehModel, IViews>();

function views(model: BokehModel): IViews {
  let entry = viewsOf.get(model);
  if (entry === undefined) {
    entry = { all: [], used: null };
    viewsOf.set(model, entry);
  }
  return entry;
}

/** Which view of an output shows text its callbacks printed, so that it is shown once per
 * page: for an event of this page, the view a person last used; otherwise (a periodic
 * callback, an event of another page) the newest view. Text of another page's event is
 * shown there only. */
function showsText(view: BokehView, text: IStreamText): boolean {
  if (text.client !== null && text.client !== view.model.client) {
    return false;
  }
  const { all, used } = views(view.model);
  const target = text.client !== null && used !== null ? used : all[all.length - 1];
  return target === view;
}

/** What a person does in a view that can run the output's callbacks. */
const USE_EVENTS = ['pointerdown', 'keydown', 'input', 'change', 'wheel'];

export class BokehView extends DOMWidgetView {
  model!: BokehModel;
  private _views: IBkViewManager | null = null;
  private _listener: ((event: IBkEvent) => void) | null = null;
  private _unlisten: (() => void) | null = null;
  private _removed = false;
  private _errors!: HTMLElement;
  private _streams = new StreamOutput();
  private _used = () => {
    views(this.model).used = this;
  };

  render(): void {
    this.el.classList.add('bokeh-nb-output');
    // For tests and debugging in the browser console: the output's model (document, client).
    Object.defineProperty(this.el, 'bokehNbModel', { value: this.model, configurable: true });
    const root = document.createElement('div');
    root.className = 'bokeh-nb-root';
    this._errors = document.createElement('div');
    const toolbar = appToolbar(this.model.get('app_name'), this.model.get('kernel_id'));
    this.el.append(...(toolbar ? [toolbar] : []), root, this._streams.node, this._errors);
    this._unlisten = this.model.onError((text, tb) =>
      this._errors.appendChild(errorBox(text, tb))
    );
    views(this.model).all.push(this);
    for (const type of USE_EVENTS) {
      this.el.addEventListener(type, this._used, true);
    }
    this.listenTo(this.model, 'msg:custom', (frame: unknown) => {
      const text = readStreamFrame(frame);
      if (text !== null && showsText(this, text)) {
        this._streams.append(text.name, text.text);
      }
    });
    this.listenTo(this.model, 'bokeh_nb:reconnecting', () => this._showReconnecting());
    this._showReconnecting();
    this.model.viewAdded();
    const bytes = Number(this.model.get('data_bytes')) || 0;
    if (bytes > LARGE_OUTPUT_BYTES && !this.model.pulled) {
      this._askFirst(root, bytes);
    } else {
      void this._render(root);
    }
  }

  /** A large document is pulled only once someone asks for it, in any view. */
  private _askFirst(root: HTMLElement, bytes: number): void {
    const box = document.createElement('div');
    box.className = 'bokeh-nb-large';
    box.setAttribute('role', 'status');
    box.style.cssText =
      'border-left:4px solid var(--jp-warn-color1,#f57c00);padding:6px 10px;margin:4px 0;' +
      'background:var(--jp-layout-color2,#eee);font-size:var(--jp-ui-font-size1,13px);';
    const text = document.createElement('div');
    text.textContent = largeOutputText(bytes);
    const show = document.createElement('button');
    show.textContent = 'Show it';
    box.append(text, show);
    root.appendChild(box);
    const go = () => {
      this.stopListening(this.model, 'bokeh_nb:pulling', go);
      box.remove();
      void this._render(root);
    };
    show.onclick = () => this.model.trigger('bokeh_nb:pulling');
    this.listenTo(this.model, 'bokeh_nb:pulling', go);
  }

  private async _render(root: HTMLElement): Promise<void> {
    let doc: IBkDocument;
    try {
      doc = await this.model.ready();
    } catch (err) {
      const text =
        err instanceof BokehJSLoadError
          ? err.message
          : `bokeh_nb could not show this output: ${(err as Error).message ?? err}`;
      this._errors.appendChild(errorBox(text, ''));
      return;
    }
    if (this._removed) {
      return;
    }
    const bk = this.model.bk as IBokehJS;
    const views = new bk.ViewManager([], bk.index);
    this._views = views;
    if (doc.views_manager === null || doc.views_manager === undefined) {
      doc.views_manager = views;
    }
    const cancelled = () => this._removed;
    for (const model of doc.roots()) {
      await renderRoot(views, model, root, cancelled);
    }
    this._listener = (event: IBkEvent) => {
      const list = event.events ?? [event];
      for (const ev of list) {
        if (isA(ev, bk.RootAddedEvent)) {
          void renderRoot(views, ev.model, root, cancelled);
        } else if (isA(ev, bk.RootRemovedEvent)) {
          views.get(ev.model)?.remove();
        }
      }
    };
    doc.on_change(this._listener, true);
    this.el.dataset.bokehNbRendered = 'true';
  }

  /** While the page's connection to the kernel is retried, the output says that what it
   * shows may be behind; the kernel's changes meanwhile arrive once it is back. */
  private _showReconnecting(): void {
    const badge = this.el.querySelector(':scope > .bokeh-nb-reconnecting');
    if (this.model.reconnecting && badge === null) {
      const line = statusBadge(RECONNECTING);
      line.classList.add('bokeh-nb-reconnecting');
      this.el.prepend(line);
    } else if (!this.model.reconnecting && badge !== null) {
      badge.remove();
    }
  }

  remove(): void {
    this._removed = true;
    const doc = this.model.document;
    if (doc !== null && this._listener !== null) {
      doc.remove_on_change(this._listener);
    }
    if (this._views !== null) {
      this._views.clear();
      if (doc !== null && doc.views_manager === this._views) {
        doc.views_manager = null;
      }
    }
    this._unlisten?.();
    const entry = views(this.model);
    entry.all = entry.all.filter(v => v !== this);
    if (entry.used === this) {
      entry.used = null;
    }
    this.model.viewRemoved();
    super.remove();
  }
}
