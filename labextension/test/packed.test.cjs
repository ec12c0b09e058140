// An app page's websocket with each Bokeh message packed into one (src/page/packed.ts;
// the server's side is bokeh_nb/server/wsframes.py): the fragments come out as Bokeh's
// framing would have brought them, to BokehJS's onmessage first and then to the page's
// other listeners, and what is no packed message is refused. Run by `npm test`
// (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { MALFORMED_CLOSE, unpack, unpacking } = require('../build/test-lib/page/packed.js');
const { HandledMessages } = require('../build/test-lib/page/handled.js');
const { ACK_EVERY, PAGE_HANDLED } = require('../build/test-lib/protocol.js');

/** fragments (strings and ArrayBuffers) in jupyter_server's v1 layout: the number of
 * offsets, the offsets (8 bytes little-endian each), the fragments. */
function pack(fragments) {
  const bytes = fragments.map(f =>
    typeof f === 'string' ? new TextEncoder().encode(f) : new Uint8Array(f)
  );
  const n = fragments.length + 1;
  const offsets = [8 * (n + 1)];
  for (const b of bytes) {
    offsets.push(offsets[offsets.length - 1] + b.length);
  }
  const out = new Uint8Array(offsets[offsets.length - 1]);
  const view = new DataView(out.buffer);
  [n, ...offsets].forEach((value, i) => view.setBigUint64(8 * i, BigInt(value), true));
  bytes.forEach((b, i) => out.set(b, offsets[i]));
  return out.buffer;
}

/** One Bokeh message of `buffers` buffers (of 8 * (i + 1) bytes each), as fragments. */
function fragmentsOf(buffers = 0, content = '{}') {
  const header = JSON.stringify({ msgid: 'm', msgtype: 'PATCH-DOC', num_buffers: buffers });
  const fragments = [header, '{}', content];
  for (let i = 0; i < buffers; i++) {
    fragments.push(JSON.stringify({ id: `b${i}` }), new Float64Array(i + 1).fill(i).buffer);
  }
  return fragments;
}

/** A WebSocket as far as the page uses it: listeners in the order they were added, and
 * `onmessage` an event handler (set from null: a listener added then, at the end). */
class FakeSocket extends EventTarget {
  constructor() {
    super();
    this.readyState = 1;
    this.sent = [];
    this.closed = null;
    this._handler = null;
    this._slot = event => this._handler?.(event);
  }
  get onmessage() {
    return this._handler;
  }
  set onmessage(handler) {
    if (this._handler === null && handler !== null) {
      this.addEventListener('message', this._slot);
    } else if (handler === null) {
      this.removeEventListener('message', this._slot);
    }
    this._handler = handler;
  }
  send(data) {
    this.sent.push(data);
  }
  close(code, reason) {
    this.closed = { code, reason };
  }
  receive(data) {
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
}

test('a packed message unpacks into its fragments, buffers as ArrayBuffers', () => {
  for (const buffers of [0, 1, 3]) {
    const fragments = fragmentsOf(buffers, '{"text": "\u00e9\u2603"}');
    const got = unpack(pack(fragments));
    assert.equal(got.length, fragments.length);
    got.forEach((fragment, i) => {
      if (typeof fragments[i] === 'string') {
        assert.equal(fragment, fragments[i]);
      } else {
        assert.ok(fragment instanceof ArrayBuffer);
        assert.deepEqual(new Uint8Array(fragment), new Uint8Array(fragments[i]));
      }
    });
  }
});

test('what is no packed Bokeh message is refused, with why', () => {
  const whole = pack(fragmentsOf(1));
  const cases = [
    [new ArrayBuffer(4), /ends inside its table/],
    [pack(['a', 'b']), /2 fragments/],
    [pack(['a', 'b', 'c', 'd']), /4 fragments/],
    [whole.slice(0, whole.byteLength - 1), /outside it/],
    [whole.slice(0, 8 * 4), /ends inside its table/]
  ];
  const extra = new Uint8Array(whole.byteLength + 1);
  extra.set(new Uint8Array(whole));
  cases.push([extra.buffer, /bytes after its last fragment/]);
  const shifted = new Uint8Array(whole.slice(0));
  new DataView(shifted.buffer).setUint32(8, 7, true); // the first offset inside the table
  cases.push([shifted.buffer, /does not follow its table/]);
  for (const [message, why] of cases) {
    assert.throws(() => unpack(message), why);
  }
});

test("BokehJS's onmessage, then the page's listeners, get each fragment in order", () => {
  const socket = new FakeSocket();
  const seen = [];
  socket.onmessage = event => seen.push(['bokeh', event.data]); // as connect() sets it
  unpacking(socket);
  socket.addEventListener('message', event => seen.push(['page', event.data]));
  const fragments = fragmentsOf(2);
  socket.receive(pack(fragments));
  const expected = fragments.flatMap(f => [
    ['bokeh', f],
    ['page', f]
  ]);
  assert.equal(seen.length, expected.length);
  seen.forEach(([who, data], i) => {
    assert.equal(who, expected[i][0]);
    if (typeof data === 'string') {
      assert.equal(data, expected[i][1]);
    } else {
      assert.deepEqual(new Uint8Array(data), new Uint8Array(expected[i][1]));
    }
  });
  socket.receive('a text message'); // none comes; it is passed on as it is
  assert.deepEqual(seen.slice(-2), [
    ['bokeh', 'a text message'],
    ['page', 'a text message']
  ]);
  assert.equal(socket.closed, null);
});

test('the page counts packed messages as the Bokeh messages they are', () => {
  const socket = new FakeSocket();
  socket.onmessage = () => undefined;
  unpacking(socket);
  const handled = new HandledMessages(socket);
  for (let i = 0; i < ACK_EVERY + 1; i++) {
    socket.receive(pack(fragmentsOf(i % 3)));
  }
  assert.equal(handled.handled, ACK_EVERY + 1);
  assert.deepEqual(socket.sent, [PAGE_HANDLED + '1', PAGE_HANDLED + String(1 + ACK_EVERY)]);
});

test('a malformed message closes the socket and reaches no listener', () => {
  const socket = new FakeSocket();
  const seen = [];
  socket.onmessage = event => seen.push(event.data);
  unpacking(socket);
  const error = console.error;
  const logged = [];
  console.error = text => logged.push(text);
  try {
    socket.receive(new ArrayBuffer(3));
  } finally {
    console.error = error;
  }
  assert.deepEqual(seen, []);
  assert.equal(socket.closed.code, MALFORMED_CLOSE);
  assert.match(logged[0], /bokeh_nb: a packed message of 3 bytes/);
});
