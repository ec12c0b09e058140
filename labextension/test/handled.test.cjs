// What an app page tells its server of the Bokeh messages it has handled
// (src/page/handled.ts; the server's side is bokeh_nb/server/pacing.py): a count after the
// first message, every ACK_EVERY messages and each message whose metadata asks, counted
// across messages of any number of buffers. Run by `npm test`
// (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { HandledMessages } = require('../build/test-lib/page/handled.js');
const { ACK_EVERY, ACKNOWLEDGE_KEY, PAGE_HANDLED } = require('../build/test-lib/protocol.js');

class FakeSocket {
  constructor() {
    this.readyState = 1;
    this.sent = [];
    this.listeners = [];
  }
  addEventListener(type, listener) {
    assert.equal(type, 'message');
    this.listeners.push(listener);
  }
  send(data) {
    this.sent.push(data);
  }
  /** One Bokeh message of `buffers` binary buffers, fragment by fragment. */
  message(buffers = 0, metadata = {}) {
    const header = JSON.stringify({ msgid: 'm', msgtype: 'PATCH-DOC', num_buffers: buffers });
    const fragments = [header, JSON.stringify(metadata), '{}'];
    for (let i = 0; i < buffers; i++) {
      fragments.push(JSON.stringify({ id: `b${i}` }), new ArrayBuffer(8));
    }
    for (const data of fragments) {
      this.listeners.forEach(listener => listener({ data }));
    }
  }
  counts() {
    return this.sent.map(text => {
      assert.ok(text.startsWith(PAGE_HANDLED), text);
      return Number(text.slice(PAGE_HANDLED.length));
    });
  }
}

test('the first message is told at once, then every ACK_EVERY', () => {
  const socket = new FakeSocket();
  const handled = new HandledMessages(socket);
  for (let i = 0; i < 2 * ACK_EVERY + 3; i++) {
    socket.message(i % 3);
  }
  assert.equal(handled.handled, 2 * ACK_EVERY + 3);
  assert.deepEqual(socket.counts(), [1, 1 + ACK_EVERY, 1 + 2 * ACK_EVERY]);
});

test('a message whose metadata asks is told as soon as it is handled', () => {
  const socket = new FakeSocket();
  new HandledMessages(socket);
  socket.message();
  socket.message(2);
  socket.message(1, { [ACKNOWLEDGE_KEY]: true });
  socket.message();
  assert.deepEqual(socket.counts(), [1, 3]);
});

test('nothing is sent on a socket that is not open', () => {
  const socket = new FakeSocket();
  const handled = new HandledMessages(socket);
  socket.readyState = 3;
  socket.message();
  assert.equal(handled.handled, 1);
  assert.deepEqual(socket.sent, []);
  socket.readyState = 1;
  socket.message(); // told once it can be: the first count it could send
  assert.deepEqual(socket.counts(), [2]);
});
