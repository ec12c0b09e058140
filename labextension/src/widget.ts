// The ipywidgets model of a live Bokeh document (its view is in view.ts).
//
// The model holds ONE BokehJS Document per page: it pulls the document from the kernel,
// applies the kernel's patches and sends BokehJS's own document events back as PATCH-DOC,
// one in flight at a time, coalescing property changes (latest value wins) meanwhile.
// Every view renders that same Document, so all views of an output stay in sync.

import { DOMWidgetModel, ISerializers, WidgetModel } from '@jupyter-widgets/base';
import { PageConfig } from '@jupyterlab/coreutils';
import type { Kernel } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';

import { Acknowledgements } from './acks';
import { BokehJSLoadError, IBkDocument, IBkEvent, IBokehJS, ILoadReport } from './bokehjs';
import { jsVersion, loadBokehJS, loadReports } from './bokehjs';
import { cannotRender, tooLargeToSend } from './compat';
import { BokehJSRequests, isBokehJSReply } from './delivery';
import { loadExtensions } from './extensions';
import { watchKernel } from './kernelwatch';
import { Outbox } from './outbox';
import { answerProbes } from './probes';
import {
  IBokehFrame,
  KIND_ACK,
  KIND_BOKEH,
  KIND_BYE,
  KIND_ERROR,
  KIND_VIEWS,
  KernelFrame,
  WIDGET_MODEL,
  WIDGET_MODULE,
  WIDGET_MODULE_VERSION,
  WIDGET_VIEW
} from './protocol';
import { modelAdded, modelEnded } from './registry';
import { decodeFrame, encodeMessage, IIncoming, uniqueId } from './wire';

interface IReply {
  resolve(msg: IIncoming): void;
  reject(err: Error): void;
}

export class BokehModel extends DOMWidgetModel {
  static serializers: ISerializers = { ...DOMWidgetModel.serializers };
  static model_name = WIDGET_MODEL;
  static model_module = WIDGET_MODULE;
  static model_module_version = WIDGET_MODULE_VERSION;
  static view_name = WIDGET_VIEW;
  static view_module = WIDGET_MODULE;
  static view_module_version = WIDGET_MODULE_VERSION;

  readonly client = uniqueId('c');
  bk: IBokehJS | null = null;
  document: IBkDocument | null = null;
  /** Messages the kernel sent, counted (tests and benchmarks read this). */
  received = 0;
  private _ready: Promise<IBkDocument> | null = null;
  private _replies = new Map<string, IReply>();
  private _bokehjs = new BokehJSRequests(this);
  private _outbox = new Outbox<IBkEvent>();
  /** True while a pulled document replaces this one's content (not a user change). */
  private _replacing = false;
  private _views = 0;
  private _viewsSent = -1;
  private _errorListeners = new Set<(text: string, tb: string) => void>();
  private _onPageHide = () => this._sendBye();
  private _acks = new Acknowledgements(
    seq => this.send({ kind: KIND_ACK, client: this.client, seq }, {}),
    () => this.comm_live
  );
  private _unwatchKernel: (() => void) | null = null;
  /** True while this page's connection to the kernel is down and being retried. */
  reconnecting = false;

  defaults(): Record<string, unknown> {
    return {
      ...super.defaults(),
      _model_name: WIDGET_MODEL,
      _model_module: WIDGET_MODULE,
      _model_module_version: WIDGET_MODULE_VERSION,
      _view_name: WIDGET_VIEW,
      _view_module: WIDGET_MODULE,
      _view_module_version: WIDGET_MODULE_VERSION,
      bokeh_version: '',
      protocol_version: '',
      bundles: [],
      app_name: '',
      kernel_id: '',
      data_bytes: 0
    };
  }

  initialize(attributes: Backbone.ObjectHash, options: { model_id: string; comm?: unknown; widget_manager: unknown }): void {
    super.initialize(attributes, options as never);
    this.on('msg:custom', (content: KernelFrame, buffers: DataView[]) =>
      this._onFrame(content, buffers)
    );
    window.addEventListener('pagehide', this._onPageHide);
    modelAdded(this);
    this.on('comm_live_update', () => {
      if (!this.comm_live) {
        modelEnded(this); // kernel restarted or stopped: its output keeps this state
      }
    });
    this._watchKernel();
  }

  /** Follow the connection to this model's kernel. ipywidgets ends a model only when its
   * kernel restarts; a kernel that died with its Jupyter server (or that this page could
   * not reach again) closes no comm, so without this the output would stay "live" on a
   * session that is gone. While the connection is being retried, views say so. */
  private _watchKernel(): void {
    const manager = this.widget_manager as unknown as { kernel?: Kernel.IKernelConnection | null };
    const kernel = manager.kernel;
    if (!kernel) {
      return;
    }
    answerProbes(kernel); // hosts without notebook documents (Voilà) answer here
    this._unwatchKernel = watchKernel(kernel, {
      gone: () => this._kernelGone(),
      reconnecting: (retrying, connected) => {
        if (retrying !== this.reconnecting) {
          this.reconnecting = retrying;
          this.trigger('bokeh_nb:reconnecting', retrying);
          if (!retrying && connected) {
            void this._resync();
          }
        }
      }
    });
  }

  private _kernelGone(): void {
    this._unwatchKernel?.();
    this._unwatchKernel = null;
    if (this.reconnecting) {
      this.reconnecting = false;
      this.trigger('bokeh_nb:reconnecting', false);
    }
    if (this.comm_live) {
      this.comm_live = false; // as ipywidgets does on a restart: the output keeps this state
    }
  }

  /** Whether this page asked the kernel for the document already. */
  get pulled(): boolean {
    return this._ready !== null;
  }

  /** The live document, pulled from the kernel once per page. */
  ready(): Promise<IBkDocument> {
    if (this._ready === null) {
      this._ready = this._connect();
      this._ready.catch(() => {
        this._ready = null; // a later view may try again (e.g. after the server is fixed)
      });
    }
    return this._ready;
  }

  private async _connect(): Promise<IBkDocument> {
    const version = String(this.get('bokeh_version'));
    const problem = cannotRender(String(this.get('protocol_version')), version);
    if (problem !== null) {
      throw new BokehJSLoadError(problem);
    }
    const bundles = this.get('bundles') as string[];
    const bk = await loadBokehJS(PageConfig.getBaseUrl(), version, bundles, (v, b) =>
      this._bokehjs.request(v, b)
    );
    this.bk = bk;
    const reply = await this._request('PULL-DOC-REQ', {});
    loadExtensions(reply.content, jsVersion(version)); // custom models, before the document
    const doc = bk.Document.from_json(reply.content.doc, undefined, reply.buffers);
    doc.on_change(event => this._documentChanged(event), true);
    this.document = doc;
    return doc;
  }

  /** How this page got the BokehJS of this output's version (tests read this). */
  get bokehjsLoads(): readonly ILoadReport[] {
    return loadReports(String(this.get('bokeh_version')));
  }

  /** After the connection to the kernel came back: what was on the wire when it dropped
   * may be lost (the server replays only what it had not yet written), so pull the
   * kernel's document again and show it. Changes made here meanwhile were queued by
   * JupyterLab and reach the kernel before this request, so the reply includes them. */
  private async _resync(): Promise<void> {
    const doc = this.document;
    const bk = this.bk;
    if (doc === null || bk === null || !this.comm_live) {
      return;
    }
    this._outbox.reset(); // OKs may have been lost with the connection
    let reply: IIncoming;
    try {
      reply = await this._request('PULL-DOC-REQ', {});
    } catch {
      return; // the session ended meanwhile: the output says so
    }
    try {
      loadExtensions(reply.content, jsVersion(bk.version));
    } catch (err) {
      this._showError(String((err as Error).message ?? err), '');
      return;
    }
    const fresh = bk.Document.from_json(reply.content.doc, undefined, reply.buffers);
    this._replacing = true;
    try {
      fresh.destructively_move(doc); // views re-render the new roots
    } finally {
      this._replacing = false;
    }
    this._flush();
  }

  private _send(msgtype: string, content: unknown): string | null {
    const bk = this.bk as IBokehJS;
    const { frame, buffers } = encodeMessage(bk, this.client, msgtype, content);
    const ack = this._acks.rideAlong();
    if (ack !== null) {
      frame.ack = ack; // what this page has handled: no acknowledgement of its own per event
    }
    const size = frame.content.length + buffers.reduce((n, b) => n + b.byteLength, 0);
    const tooLarge = tooLargeToSend(size);
    if (tooLarge !== null) {
      this._showError(tooLarge, '');
      return null;
    }
    this.send(frame as unknown as JSONObject, {}, buffers);
    return frame.header.msgid;
  }

  private _request(msgtype: string, content: unknown): Promise<IIncoming> {
    return new Promise((resolve, reject) => {
      const msgid = this._send(msgtype, content);
      if (msgid === null) {
        reject(new Error(`${msgtype} is too large to send`));
        return;
      }
      this._replies.set(msgid, { resolve, reject });
    });
  }

  private _onFrame(frame: KernelFrame, buffers: DataView[]): void {
    const start = performance.now();
    try {
      this._handleFrame(frame, buffers);
    } finally {
      if (frame.kind === KIND_BOKEH && typeof frame.seq === 'number') {
        this._acks.handled(frame.seq, performance.now() - start, frame.acknowledge === true);
      }
    }
  }

  private _handleFrame(frame: KernelFrame, buffers: DataView[]): void {
    if (isBokehJSReply(frame)) {
      this._bokehjs.answered(frame, buffers);
      return;
    }
    if (frame.kind === KIND_ERROR) {
      this._showError(frame.text, frame.traceback);
      return;
    }
    if (frame.kind !== KIND_BOKEH) {
      return;
    }
    this.received += 1;
    let msg: IIncoming;
    try {
      msg = decodeFrame(frame as IBokehFrame, buffers);
    } catch (err) {
      this._showError(`bokeh_nb could not read a message from the kernel: ${err}`, '');
      return;
    }
    const { msgtype, reqid } = msg.header;
    if (reqid !== undefined) {
      const pending = this._replies.get(reqid);
      if (pending !== undefined) {
        this._replies.delete(reqid);
        if (msgtype === 'ERROR') {
          pending.reject(new Error(String(msg.content.text)));
        } else {
          pending.resolve(msg);
        }
      }
      if (this._outbox.answered(reqid)) {
        if (msgtype === 'ERROR') {
          const { text, traceback } = msg.content;
          this._showError(String(text), typeof traceback === 'string' ? traceback : '');
        }
        this._flush();
      }
      return;
    }
    if (msgtype === 'PATCH-DOC' && this.document !== null) {
      if (msg.metadata.origin === this.client) {
        return; // our own change, echoed for the other clients
      }
      this.document.apply_json_patch(msg.content, msg.buffers);
    }
  }

  // ---- browser -> kernel: property changes coalesced while in flight (outbox.ts) ---------

  private _documentChanged(event: IBkEvent): void {
    if (this._replacing) {
      return; // the kernel's own state, pulled after a reconnect
    }
    const events = event.events !== undefined ? (event.sync ? event.events : []) : [event];
    for (const ev of events) {
      if (ev.sync) {
        this._outbox.push(ev); // else applied from a kernel patch: never echoed back
      }
    }
    this._flush();
  }

  private _flush(): void {
    if (this.document === null) {
      return;
    }
    const events = this._outbox.take();
    if (events.length === 0) {
      return;
    }
    const patch = this.document.create_json_patch(events);
    const msgid = this._send('PATCH-DOC', patch);
    if (msgid !== null) {
      this._outbox.sent(msgid, events); // (refused as too large: nothing is in flight)
    }
  }

  // ---- views and errors ------------------------------------------------------------------

  viewAdded(): void {
    this._views += 1;
    this._reportViews();
  }

  viewRemoved(): void {
    this._views = Math.max(0, this._views - 1);
    this._reportViews();
  }

  private _reportViews(): void {
    queueMicrotask(() => {
      if (this._views !== this._viewsSent && this.comm_live) {
        this._viewsSent = this._views;
        this.send({ kind: KIND_VIEWS, client: this.client, count: this._views }, {});
      }
    });
  }

  private _sendBye(): void {
    if (this.comm_live) {
      this.send({ kind: KIND_BYE, client: this.client }, {});
    }
  }

  onError(listener: (text: string, tb: string) => void): () => void {
    this._errorListeners.add(listener);
    return () => this._errorListeners.delete(listener);
  }

  private _showError(text: string, traceback: string): void {
    for (const listener of this._errorListeners) {
      listener(text, traceback);
    }
  }

  close(comm_closed?: boolean): Promise<void> {
    window.removeEventListener('pagehide', this._onPageHide);
    this._unwatchKernel?.();
    this._unwatchKernel = null;
    modelEnded(this);
    for (const pending of this._replies.values()) {
      pending.reject(new Error('the output was closed'));
    }
    this._replies.clear();
    this._bokehjs.close();
    return super.close(comm_closed);
  }
}

export type { WidgetModel };
