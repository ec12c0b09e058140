// One Bokeh message <-> one comm message (src/wire.ts, docs/protocol.md): array payloads
// travel as binary buffers named in the frame, and a frame that does not match its
// buffers is refused. Run by `npm test` (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { decodeFrame, encodeMessage, uniqueId } = require('../build/test-lib/wire.js');

/** What encodeMessage uses of BokehJS: its Buffer class (core/serialization). */
class FakeBuffer {
  constructor(buffer) {
    this.buffer = buffer;
  }
}
const bk = { Buffer: FakeBuffer };

const bytes = (...values) => new Uint8Array(values).buffer;

test('a message without arrays: JSON text, no buffers, no num_buffers', () => {
  const content = { events: [{ kind: 'ModelChanged', attr: 'value', new: 3 }] };
  const { frame, buffers } = encodeMessage(bk, 'c1', 'PATCH-DOC', content);
  assert.equal(frame.kind, 'bokeh');
  assert.equal(frame.client, 'c1');
  assert.equal(frame.header.msgtype, 'PATCH-DOC');
  assert.equal(frame.header.num_buffers, undefined);
  assert.deepEqual(frame.metadata, {});
  assert.deepEqual(frame.buffers, []);
  assert.deepEqual(buffers, []);
  assert.deepEqual(JSON.parse(frame.content), content);
});

test('each BokehJS Buffer becomes one binary buffer, referred to by its id', () => {
  const a = bytes(1, 2, 3);
  const b = bytes(4);
  const content = { data: { x: new FakeBuffer(a), y: [new FakeBuffer(b)] }, n: 2 };
  const { frame, buffers } = encodeMessage(bk, 'c1', 'PATCH-DOC', content, { m: 1 });
  assert.equal(frame.header.num_buffers, 2);
  assert.deepEqual(frame.buffers, ['0', '1']);
  assert.equal(buffers[0], a, 'the same bytes, not a copy');
  assert.equal(buffers[1], b);
  assert.deepEqual(JSON.parse(frame.content), { data: { x: { id: '0' }, y: [{ id: '1' }] }, n: 2 });
  assert.deepEqual(frame.metadata, { m: 1 });
});

test('every message has its own id', () => {
  const ids = new Set();
  for (let i = 0; i < 200; i++) {
    ids.add(encodeMessage(bk, 'c', 'PULL-DOC-REQ', {}).frame.header.msgid);
  }
  assert.equal(ids.size, 200);
  assert.match(uniqueId('p'), /^p[0-9a-z]+$/);
});

test('a kernel frame decodes to its header, metadata, content and buffers by id', () => {
  const frame = {
    kind: 'bokeh',
    header: { msgid: 'k1', msgtype: 'PATCH-DOC', num_buffers: 2 },
    metadata: { a: 1 },
    content: '{"events": [], "buffer": {"id": "p7"}}',
    buffers: ['p7', 'p8']
  };
  const first = bytes(9, 8, 7);
  const whole = new Uint8Array([0, 1, 2, 3, 4, 5]).buffer;
  const msg = decodeFrame(frame, [first, new DataView(whole, 2, 3)]);
  assert.deepEqual(msg.header, frame.header);
  assert.deepEqual(msg.metadata, { a: 1 });
  assert.deepEqual(msg.content, { events: [], buffer: { id: 'p7' } });
  assert.deepEqual([...msg.buffers.keys()], ['p7', 'p8']);
  assert.equal(msg.buffers.get('p7'), first, 'an ArrayBuffer is kept as it is');
  // a view on part of a larger buffer: exactly its bytes
  assert.deepEqual([...new Uint8Array(msg.buffers.get('p8'))], [2, 3, 4]);
});

test('a DataView over a whole buffer gives that buffer, not a copy', () => {
  const whole = bytes(1, 2);
  const frame = { kind: 'bokeh', header: { msgid: 'k', msgtype: 'OK' }, content: '{}', buffers: ['b'] };
  assert.equal(decodeFrame(frame, [new DataView(whole)]).buffers.get('b'), whole);
});

test('no metadata or buffer list: empty ones', () => {
  const frame = { kind: 'bokeh', header: { msgid: 'k', msgtype: 'OK' }, content: '{}' };
  const msg = decodeFrame(frame, []);
  assert.deepEqual(msg.metadata, {});
  assert.equal(msg.buffers.size, 0);
});

test('a frame whose buffer count does not match what arrived is refused', () => {
  const frame = {
    kind: 'bokeh',
    header: { msgid: 'k', msgtype: 'PATCH-DOC', num_buffers: 2 },
    metadata: {},
    content: '{}',
    buffers: ['a', 'b']
  };
  assert.throws(() => decodeFrame(frame, [bytes(1)]), /announces 2 buffers, 1 arrived/);
  assert.throws(() => decodeFrame({ ...frame, buffers: [] }, [bytes(1)]), /announces 0 buffers, 1 arrived/);
});

test('what encodeMessage sends, decodeFrame reads back', () => {
  const x = bytes(1, 2, 3, 4);
  const { frame, buffers } = encodeMessage(bk, 'c', 'PATCH-DOC', { col: new FakeBuffer(x) });
  const msg = decodeFrame(frame, buffers);
  assert.deepEqual(msg.content, { col: { id: '0' } });
  assert.equal(msg.buffers.get('0'), x);
  assert.equal(msg.header.num_buffers, 1);
});

test('JSON that does not parse is an error, not a message', () => {
  const frame = { kind: 'bokeh', header: { msgid: 'k', msgtype: 'OK' }, content: '{', buffers: [] };
  assert.throws(() => decodeFrame(frame, []), SyntaxError);
});
