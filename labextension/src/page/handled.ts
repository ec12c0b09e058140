// What an app page has handled of its session's websocket, told to its server
// (bokeh_nb/server/pacing.py): the kernel then holds the session's changes while the page
// is behind, as it does for a notebook page, so an answer to this page's own event waits
// behind little of a fast stream. BokehJS handles each Bokeh message in its own listener
// of the socket, which runs before this one: a message counted here has been applied.

import { ACKNOWLEDGE_KEY, ACK_EVERY, PAGE_HANDLED } from '../protocol';

/** The part of a WebSocket the counter uses. */
export interface IHandledSocket {
  readonly readyState: number;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  send(data: string): void;
}

/** The socket's state in which it sends (WebSocket.OPEN). */
const OPEN = 1;

/** Counts the Bokeh messages (3 + 2N websocket messages each, N from the header) that
 * arrive on one socket, and tells the server after the first, every `ACK_EVERY`, and
 * each one whose metadata asks (`ACKNOWLEDGE_KEY`). */
export class HandledMessages {
  private _fragments = 0; // of the current message; 0: a header comes next
  private _seen = 0; // fragments of it seen so far
  private _asks = false;
  private _handled = 0;
  private _told = 0;

  constructor(private readonly _socket: IHandledSocket) {
    _socket.addEventListener('message', event => this._fragment(event.data));
  }

  /** Bokeh messages handled so far. */
  get handled(): number {
    return this._handled;
  }

  private _fragment(data: unknown): void {
    if (this._fragments === 0) {
      this._fragments = 3 + 2 * buffersOf(data);
      this._seen = 0;
      this._asks = false;
    }
    if (this._seen === 1 && typeof data === 'string' && data.includes(ACKNOWLEDGE_KEY)) {
      this._asks = true;
    }
    this._seen += 1;
    if (this._seen < this._fragments) {
      return;
    }
    this._fragments = 0;
    this._handled += 1;
    if (this._asks || this._told === 0 || this._handled - this._told >= ACK_EVERY) {
      this._tell();
    }
  }

  private _tell(): void {
    if (this._socket.readyState === OPEN) {
      this._socket.send(PAGE_HANDLED + String(this._handled));
      this._told = this._handled;
    }
  }
}

/** The binary buffers a Bokeh header announces (0 for what is no header: BokehJS closes
 * such a connection itself). */
function buffersOf(header: unknown): number {
  if (typeof header !== 'string') {
    return 0;
  }
  try {
    const n = (JSON.parse(header) as { num_buffers?: unknown }).num_buffers;
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
