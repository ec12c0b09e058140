// The script of a standalone app page (`app.url`, share links, app files; the page is
// written by bokeh_nb/server/page.py, which inlines this script once built): it opens a
// new session of the app with the BokehJS the page loaded, renders it into
// `#bokeh-nb-root`, and says in `#bokeh-nb-problem` what went wrong when it cannot.

import {
  bokehjsMissing,
  clearedByReconnect,
  connectionLost,
  IPageItem,
  IProblem,
  offersReload,
  ProblemKind,
  sessionFailed,
  websocketUrl
} from './problems';
import { HandledMessages } from './handled';
import { unpacking } from './packed';
import { applyTemplate, watchTemplate } from './template';
import { loadExtensions } from '../extensions';
import { PACKED_ARG } from '../protocol';
import { jsVersion } from '../versions';

/** The parts of BokehJS's API this page uses (BokehJS's own modules, by name). */
interface IPageDocument {
  roots(): { id: string }[];
  on_event(event: 'connection_lost' | 'client_reconnected', callback: () => void): void;
}

interface IClientSession {
  readonly document: IPageDocument;
}

/** BokehJS's `client/connection` ClientConnection: the websocket of one session. */
interface IClientConnection {
  /** Made by `connect()` before it returns (null again once that socket closed). */
  readonly socket: WebSocket | null;
  connect(): Promise<IClientSession>;
}

interface IConnectionModule {
  ClientConnection: new (url: string, token: string, args: string | null) => IClientConnection;
}

/** What BokehJS's ClientConnection does to pull its document (`_pull_doc_json`), and what
 * it uses for that: the page runs the document's custom model code in between. */
interface IPulling {
  _pull_doc_json(): Promise<{ doc_json: unknown; buffers: unknown }>;
  send_with_reply(message: unknown): Promise<{ content: Record<string, unknown>; buffers: unknown }>;
}

interface IMessageModule {
  Message: { create(msgtype: string, metadata: object, content: object): unknown };
}

/** The connection runs the custom model code that comes with its document (extensions.ts)
 * before BokehJS builds the document; `failed` hears why it could not. */
function withExtensions(
  connection: IClientConnection,
  bk: IPageBokehJS,
  bokehKey: string,
  failed: (text: string) => void
): void {
  const pulling = connection as unknown as IPulling;
  const { Message } = bk.require('protocol/message') as IMessageModule;
  pulling._pull_doc_json = async () => {
    const reply = await pulling.send_with_reply(Message.create('PULL-DOC-REQ', {}, {}));
    try {
      loadExtensions(reply.content, bokehKey);
    } catch (err) {
      failed((err as Error).message);
      throw err;
    }
    return { doc_json: reply.content.doc, buffers: reply.buffers };
  };
}

/** Each socket the connection makes (the first, and each reconnect's) gets each Bokeh
 * message packed into one (packed.ts), and tells the server which of its messages the
 * page has handled (handled.ts). */
function onEachSocket(connection: IClientConnection): void {
  const connect = connection.connect.bind(connection);
  connection.connect = () => {
    const session = connect();
    if (connection.socket !== null) {
      unpacking(connection.socket);
      new HandledMessages(connection.socket);
    }
    return session;
  };
}

interface IStandaloneModule {
  add_document_standalone(
    doc: IPageDocument,
    element: HTMLElement,
    roots: HTMLElement[],
    useForTitle: boolean
  ): Promise<unknown>;
}

interface IPageBokehJS {
  require(module: string): unknown;
}

function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`bokeh_nb: this page has no #${id}`);
  }
  return element;
}

/** The page's alert: what went wrong, in the words of page.py's PROBLEMS. */
class Alert {
  private readonly _text: HTMLElement;
  private readonly _reload: HTMLButtonElement;

  constructor(private readonly _box: HTMLElement) {
    this._text = _box.querySelector('p') ?? _box;
    const reload = _box.querySelector('button');
    if (reload === null) {
      throw new Error('bokeh_nb: the alert of this page has no button');
    }
    this._reload = reload;
    reload.addEventListener('click', () => location.reload());
  }

  get kind(): ProblemKind | undefined {
    return this._box.dataset.problem as ProblemKind | undefined;
  }

  show(problem: IProblem): void {
    this._box.dataset.problem = problem.kind;
    this._text.textContent = problem.text;
    this._reload.hidden = !offersReload(problem.kind);
    this._box.hidden = false;
  }

  hide(): void {
    this._box.hidden = true;
    delete this._box.dataset.problem;
  }
}

/** BokehJS at the page's version, as its bundles registered it (under its npm name). */
function bokehJS(version: string): IPageBokehJS | undefined {
  const global = window as unknown as { Bokeh?: Record<string, IPageBokehJS | undefined> };
  return global.Bokeh?.[jsVersion(version)];
}

/** BokehJS's modules this page uses (a BokehJS without them throws here, loudly). */
function modules(bk: IPageBokehJS): IConnectionModule & IStandaloneModule & { bokeh: IPageBokehJS } {
  const { ClientConnection } = bk.require('client/connection') as IConnectionModule;
  const { add_document_standalone } = bk.require('embed/standalone') as IStandaloneModule;
  return { ClientConnection, add_document_standalone, bokeh: bk };
}

/** What the page learns of its session's first websocket. */
interface ISocketWatch {
  /** It opened. */
  opened(): void;
  /** It closed, with this reason (the server's words; empty if it gave none). */
  closed(reason: string): void;
  /** The document's custom model code could not be run: why. */
  extensionFailed(text: string): void;
}

/** A new session of the app, rendered into the page, as BokehJS's embed_items makes one
 * for a server session (the page's query goes to the app). Rejects when it could not
 * start; `watch` hears of its websocket opening and closing. */
async function openSession(
  bk: IConnectionModule & IStandaloneModule & { bokeh: IPageBokehJS },
  item: IPageItem,
  watch: ISocketWatch
): Promise<IClientSession> {
  const { token, elementid, use_for_title } = item.render_item;
  const url = websocketUrl(item.app_path, location.href);
  const query = new URLSearchParams(location.search);
  if (item.template !== undefined) {
    query.set(item.template.arg, '1'); // the app's own template, if it has one
  }
  query.set(PACKED_ARG, '1');
  const connection = new bk.ClientConnection(url, token, query.toString());
  withExtensions(connection, bk.bokeh, jsVersion(item.version), watch.extensionFailed);
  onEachSocket(connection);
  const session = connection.connect();
  // (the socket exists once connect() returns: no other socket of the page is watched)
  const socket = connection.socket;
  socket?.addEventListener('open', () => watch.opened(), { once: true });
  socket?.addEventListener('close', event => watch.closed(event.reason), { once: true });
  const template = watchTemplate(socket, item.template?.msgtype ?? '');
  const { document: doc } = await session;
  template.stop();
  const element = byId(elementid);
  const got = template.received();
  const ids = doc.roots().map(root => root.id);
  const roots = got === null ? [] : applyTemplate(got, item.app_path, element, ids);
  await bk.add_document_standalone(doc, element, roots, use_for_title && got === null);
  return { document: doc };
}

async function main(): Promise<void> {
  const item = JSON.parse(byId('bokeh-nb-item').textContent ?? '') as IPageItem;
  const alert = new Alert(byId('bokeh-nb-problem'));
  const bk = bokehJS(item.version);
  if (bk === undefined) {
    alert.show(bokehjsMissing(item, location.href));
    return;
  }
  const api = modules(bk);
  let opened = false;
  let reason = '';
  let failed = false;
  let extensionProblem = '';
  const showFailure = () =>
    alert.show(
      extensionProblem
        ? { kind: 'app', text: extensionProblem }
        : sessionFailed(item, location.href, opened, reason)
    );
  let session: IClientSession;
  try {
    session = await openSession(api, item, {
      opened: () => (opened = true),
      extensionFailed: text => (extensionProblem = text),
      closed: why => {
        // BokehJS may reject the session before or after this close event is heard
        reason = why;
        if (failed) {
          showFailure();
        }
      }
    });
  } catch {
    failed = true;
    showFailure();
    return;
  }
  session.document.on_event('connection_lost', () => alert.show(connectionLost(item)));
  session.document.on_event('client_reconnected', () => {
    if (clearedByReconnect(alert.kind)) {
      alert.hide();
    }
  });
}

void main();
