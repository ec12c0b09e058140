// The renderer of a bokeh_nb output (its OUTPUT_MIME entry, preferred over the widget
// view): the live view while this page has the output's model, else the snapshot saved
// with the notebook (snapshot.ts), with a badge saying it is not connected. It turns live
// when the model appears (a page reloaded while its kernel runs) and falls back to the
// output's last state when the kernel's session ends (restart, shutdown).

import { PageConfig } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import {
  BOKEH_VERSION,
  BokehJSLoadError,
  IBkViewManager,
  loadBokehJS,
  loadReports,
  NotOnServerError,
  renderRoot
} from './bokehjs';
import { CORE_BUNDLES, OPTIONAL_BUNDLES, OUTPUT_MIME, SNAPSHOT_FORMAT } from './protocol';
import { endedSnapshot, ILiveModel, liveModel, whenLive } from './registry';
import { defaultSanitizer, htmlCleaner, trustAction } from './sanitize';
import { savedBundles, savedPicture } from './savedbokehjs';
import { IOutputMeta, readSnapshot, WIDGET_VIEW_MIME } from './snapshot';
import { errorBox, statusBadge } from './ui';
import { untrustedDocument } from './untrusted';

const ENDED =
  "Not connected: this output's kernel session ended (the kernel restarted or stopped, or " +
  'the Jupyter server did). ' +
  'This is its last state; re-run the cell to reconnect.';

function savedText(meta: IOutputMeta): string {
  const when = meta.saved ? ` saved ${new Date(meta.saved).toLocaleString()}` : '';
  return `Static snapshot${when}, not connected to a kernel: run the cell to make it live.`;
}

const NO_SNAPSHOT =
  'Not connected: run the cell to show this output (no snapshot of it was saved with the ' +
  'notebook).';

const UNTRUSTED_BADGE = 'Untrusted notebook: its HTML is shown sanitized.';

/** Why a snapshot with custom models does not render (their code is not saved). */
const CUSTOM_MODELS_NOT_SAVED =
  " (a custom model's code is not saved with the notebook: run the cell to show it).";


/** The bundles a snapshot may ask for: from the kernel's list, and for an untrusted one
 * only those that run no code of the notebook's. */
function knownBundles(bundles: unknown, trusted: boolean): string[] {
  const known = trusted ? [...CORE_BUNDLES, ...OPTIONAL_BUNDLES] : CORE_BUNDLES;
  const asked = Array.isArray(bundles) ? bundles : [];
  return ['bokeh', ...known.filter(b => b !== 'bokeh' && asked.includes(b))];
}

/** What an untrusted output withheld, and the trust action in place: `trust()` finds
 * the notebook the output is in when the button is pressed (none: say how instead). */
function withheldBox(withheld: string[], trust: () => (() => Promise<void>) | null): HTMLElement {
  const box = document.createElement('div');
  box.className = 'bokeh-nb-withheld';
  box.setAttribute('role', 'status');
  box.style.cssText =
    'border-left:4px solid var(--jp-warn-color1,#f57c00);padding:4px 10px;margin:4px 0;' +
    'background:var(--jp-layout-color2,#eee);font-size:var(--jp-ui-font-size1,13px);';
  const text = document.createElement('span');
  text.textContent =
    `Withheld until this notebook is trusted: ${withheld.join(', ')}. ` +
    'If you trust where it comes from, trust it: ';
  const button = document.createElement('button');
  button.textContent = 'Trust notebook';
  button.className = 'bokeh-nb-trust';
  button.onclick = () => {
    const action = trust();
    if (action === null) {
      button.replaceWith('run "jupyter trust" on the notebook file and open it again.');
    } else {
      void action();
    }
  };
  box.append(text, button);
  return box;
}

/** Resolves true once node is in the document, false if cancelled first. */
function attached(node: HTMLElement, cancelled: () => boolean): Promise<boolean> {
  return new Promise(resolve => {
    const check = (): void => {
      if (cancelled()) {
        resolve(false);
      } else if (node.isConnected) {
        resolve(true);
      } else {
        setTimeout(check, 50);
      }
    };
    check();
  });
}

export class BokehOutput extends Panel implements IRenderMime.IRenderer {
  private _sanitizer: IRenderMime.ISanitizer | null;
  private _modelId = '';
  private _live: { model: ILiveModel; widget: Widget } | null = null;
  private _shown: string | null = null; // the snapshot text on show, when static
  private _shownTrusted = false; // and whether it was shown as trusted
  private _views: IBkViewManager | null = null;
  private _stopWaiting: (() => void) | null = null;
  private _generation = 0;
  private _commChanged = () => this._onCommChanged();

  /** `options.sanitizer` cleans an untrusted snapshot's HTML: the rendermime registry's,
   * as for untrusted HTML outputs (JupyterLab's default sanitizer without it). */
  constructor(options?: Partial<IRenderMime.IRendererOptions>) {
    super();
    this._sanitizer = options?.sanitizer ?? null;
    this.addClass('bokeh-nb-host');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const meta = model.data[OUTPUT_MIME] as unknown as IOutputMeta;
    const view = model.data[WIDGET_VIEW_MIME] as { model_id?: string } | undefined;
    const modelId = view?.model_id ?? '';
    if (this._live !== null && modelId === this._modelId) {
      return; // a save rewrote the snapshot: the live view stays
    }
    this._modelId = modelId;
    const live = model.trusted ? liveModel(modelId) : undefined;
    if (live !== undefined) {
      return this._showLive(live, meta, model);
    }
    const ended = endedSnapshot(modelId);
    if (model.trusted && ended === undefined && this._stopWaiting === null) {
      // a page reloaded while the kernel runs: ipywidgets restores the model soon
      this._stopWaiting = whenLive(modelId, m => void this._showLive(m, meta, model));
    }
    const snapshot = ended ?? readSnapshot(model.data['text/html']);
    await this._showStatic(meta, snapshot, ended ? ENDED : savedText(meta), model);
  }

  private async _showLive(
    model: ILiveModel,
    meta: IOutputMeta,
    mime: IRenderMime.IMimeModel
  ): Promise<void> {
    this._stopWaiting?.();
    this._stopWaiting = null;
    const generation = ++this._generation;
    let widget: Widget;
    try {
      widget = (await model.widget_manager.create_view(model)).luminoWidget;
    } catch (err) {
      this._clear();
      this.node.appendChild(errorBox(`bokeh_nb could not show this output: ${err}`, ''));
      return;
    }
    if (generation !== this._generation || this.isDisposed) {
      widget.dispose();
      return;
    }
    this._clear();
    this._live = { model, widget };
    this.addWidget(widget);
    model.on('comm_live_update', this._commChanged);
    widget.disposed.connect(() => {
      if (this._live?.widget === widget && !this.isDisposed) {
        this._unlisten();
        this._live = null;
        const last = endedSnapshot(model.model_id) ?? readSnapshot(mime.data['text/html']);
        void this._showStatic(meta, last, ENDED, mime);
      }
    });
    this._onCommChanged();
  }

  private _onCommChanged(): void {
    const live = this._live;
    if (live === null || live.model.comm_live) {
      return;
    }
    if (this.node.querySelector(':scope > .bokeh-nb-badge') === null) {
      this.node.prepend(statusBadge(ENDED));
    }
  }

  private async _showStatic(
    meta: IOutputMeta,
    snapshot: string | null,
    status: string,
    model: IRenderMime.IMimeModel
  ): Promise<void> {
    const trusted = model.trusted;
    if (snapshot !== null && snapshot === this._shown && trusted === this._shownTrusted) {
      this.node.querySelector('.bokeh-nb-badge')!.textContent = status;
      return;
    }
    const generation = ++this._generation;
    this._clear();
    const host = new Widget();
    host.addClass('bokeh-nb-static');
    this.addWidget(host);
    let said: HTMLElement[] = []; // what was withheld, kept when rendering fails
    const fail = (text: string) => {
      host.node.replaceChildren(errorBox(text, ''), ...said);
    };
    if (snapshot === null) {
      const why = meta.note ? `${meta.note} Run the cell to show it.` : NO_SNAPSHOT;
      host.node.append(statusBadge(why));
      return;
    }
    host.node.append(statusBadge(trusted ? status : `${status} ${UNTRUSTED_BADGE}`));
    let json: unknown;
    let withheld: string[] = [];
    try {
      if (meta.format !== SNAPSHOT_FORMAT) {
        throw new Error(`it is in snapshot format ${meta.format}, this bokeh_nb reads format ${SNAPSHOT_FORMAT}`);
      }
      if (typeof meta.bokeh_version !== 'string' || !BOKEH_VERSION.test(meta.bokeh_version)) {
        throw new Error('its bokeh version is not a version');
      }
      json = JSON.parse(snapshot);
      if (!trusted) {
        const clean = htmlCleaner(this._sanitizer ?? (await defaultSanitizer()));
        ({ doc: json, withheld } = untrustedDocument(json, clean));
      }
    } catch (err) {
      fail(`This saved Bokeh output could not be read: ${(err as Error).message}.`);
      return;
    }
    if (generation !== this._generation) {
      return;
    }
    if (withheld.length > 0) {
      said = [withheldBox(withheld, () => trustAction(this))];
      host.node.append(...said);
    }
    try {
      const bundles = knownBundles(meta.bundles, trusted);
      // BokehJS saved in the notebook, where the server has another bokeh: it is the
      // notebook's own code, so an untrusted notebook's is only noted
      const saved = async (version: string): Promise<Map<string, string>> =>
        trusted ? savedBundles(this, version) : new Map();
      const bk = await loadBokehJS(PageConfig.getBaseUrl(), meta.bokeh_version, bundles, undefined, saved);
      if (generation !== this._generation) {
        return;
      }
      const doc = bk.Document.from_json(json);
      const views = new bk.ViewManager([], bk.index);
      doc.views_manager = views;
      this._views = views;
      const root = document.createElement('div');
      host.node.append(root);
      // BokehJS lays out (and SlickGrid finds its style sheet) only in the document: a
      // notebook may render an output before its cell is attached (windowing)
      if (!(await attached(root, () => generation !== this._generation))) {
        return;
      }
      for (const model of doc.roots()) {
        await renderRoot(views, model, root, () => generation !== this._generation);
      }
      // for tests and debugging in the browser console
      Object.defineProperty(host.node, 'bokehNbStatic', { value: doc, configurable: true });
      const loads = loadReports(meta.bokeh_version);
      Object.defineProperty(host.node, 'bokehNbLoads', { value: loads, configurable: true });
      host.node.dataset.bokehNbRendered = 'true';
      this._shown = snapshot;
      this._shownTrusted = trusted;
    } catch (err) {
      if (err instanceof NotOnServerError) {
        // the notebook's picture, or its own BokehJS once trusted, shows it: not an error
        // of the output (with neither, the error box below says what to do)
        const carried = !trusted && (await savedBundles(this, meta.bokeh_version)).size > 0;
        if (generation !== this._generation) {
          return;
        }
        const picture = savedPicture(model.data);
        if (carried || picture !== null) {
          const why = carried
            ? [withheldBox([`the BokehJS ${meta.bokeh_version} it carries`], () => trustAction(this))]
            : [];
          host.node.replaceChildren(
            statusBadge(`${status} ${err.message}`),
            ...said,
            ...why,
            ...(picture === null ? [] : [picture])
          );
          return;
        }
      }
      const message = String((err as Error).message ?? err);
      const text =
        err instanceof BokehJSLoadError
          ? `This output was saved with bokeh ${meta.bokeh_version}. ${err.message}`
          : `This saved Bokeh output could not be shown: ${message}` +
            (/could not resolve type/.test(message) ? CUSTOM_MODELS_NOT_SAVED : '');
      fail(text);
    }
  }

  private _unlisten(): void {
    this._live?.model.off('comm_live_update', this._commChanged);
  }

  private _clear(): void {
    this._unlisten();
    this._live = null;
    this._shown = null;
    const views = this._views;
    this._views = null;
    try {
      views?.clear();
    } catch (err) {
      // BokehJS fails to remove a view it has not finished building (a DataTable's grid,
      // replaced while it renders); its DOM goes with the host widget below
      console.debug('bokeh_nb: a static view could not be removed', err);
    }
    for (const widget of [...this.widgets]) {
      widget.dispose();
    }
    this.node.querySelector(':scope > .bokeh-nb-badge')?.remove();
    this.node.querySelector(':scope > .bokeh-nb-error')?.remove();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._generation += 1;
    this._stopWaiting?.();
    this._stopWaiting = null;
    this._clear();
    super.dispose();
  }
}
