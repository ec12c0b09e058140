// Each Bokeh message as one websocket message: an app page asks its server for this
// (`PACKED_ARG` in the websocket's query; bokeh_nb/server/wsframes.py writes it), and
// hands BokehJS and the page's other listeners the message's 3 + 2N fragments one by one,
// as Bokeh's framing would have brought them. Chromium gives a page each websocket message
// in a task of its own: in Bokeh's framing a page got a message's second large buffer
// 13-16 ms after its first (benchmarks/results/PROFILE.md).

/** The part of a WebSocket the unpacking uses. */
export interface IPackedSocket {
  onmessage: ((event: MessageEvent) => unknown) | null;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  dispatchEvent(event: Event): boolean;
  close(code?: number, reason?: string): void;
}

/** The close code of a page that got what is no packed message (one an application may
 * use: RFC 6455 section 7.4.2). */
export const MALFORMED_CLOSE = 4002;

const decoder = new TextDecoder();

/** The fragments one packed message holds, in the layout of jupyter_server's v1 kernel
 * protocol: the number of offsets n, then n offsets (each 8 bytes, little-endian), then
 * the n - 1 fragments they bound. Fragments 0-2 (header, metadata, content) and each
 * buffer's header are text, each buffer binary (a copy of its own: BokehJS takes an
 * ArrayBuffer). Throws on anything else. */
export function unpack(message: ArrayBuffer): (string | ArrayBuffer)[] {
  const view = new DataView(message);
  const word = (at: number): number =>
    view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  const n = message.byteLength < 8 ? 0 : word(0);
  if (8 * (n + 1) > message.byteLength) {
    throw new Error(`a packed message of ${message.byteLength} bytes ends inside its table`);
  }
  const fragments = n - 1;
  if (fragments < 3 || (fragments - 3) % 2 !== 0) {
    throw new Error(`a packed message of ${fragments} fragments (3 + 2N are a Bokeh message)`);
  }
  let start = word(8);
  if (start !== 8 * (n + 1)) {
    throw new Error('a packed message whose first fragment does not follow its table');
  }
  const out: (string | ArrayBuffer)[] = [];
  for (let i = 0; i < fragments; i++) {
    const end = word(8 * (i + 2));
    if (end < start || end > message.byteLength) {
      throw new Error(`fragment ${i} of a packed message lies outside it`);
    }
    const binary = i >= 3 && (i - 3) % 2 === 1;
    const bytes = new Uint8Array(message, start, end - start);
    out.push(binary ? message.slice(start, end) : decoder.decode(bytes));
    start = end;
  }
  if (start !== message.byteLength) {
    throw new Error('a packed message with bytes after its last fragment');
  }
  return out;
}

/** From now on, each binary message on `socket` is unpacked (`unpack`): its listeners,
 * BokehJS's `onmessage` included, get its fragments as messages of their own, in order,
 * and never the packed one. A text message (none comes) goes to them as it is. What
 * cannot be unpacked closes the socket with `MALFORMED_CLOSE`. Call it once BokehJS has
 * set `onmessage`, before anything else listens. */
export function unpacking(socket: IPackedSocket): void {
  const bokeh = socket.onmessage;
  socket.onmessage = null; // (set again below: it runs after this listener)
  let inside = false;
  socket.addEventListener('message', event => {
    if (inside || typeof event.data === 'string') {
      return;
    }
    event.stopImmediatePropagation();
    let fragments: (string | ArrayBuffer)[];
    try {
      fragments = unpack(event.data as ArrayBuffer);
    } catch (err) {
      console.error(`bokeh_nb: ${(err as Error).message}`);
      socket.close(MALFORMED_CLOSE, 'bokeh_nb: a malformed packed message');
      return;
    }
    inside = true;
    try {
      for (const data of fragments) {
        socket.dispatchEvent(new MessageEvent('message', { data }));
      }
    } finally {
      inside = false;
    }
  });
  socket.onmessage = bokeh;
}
