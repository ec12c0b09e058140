// The page's changes on their way to the kernel (src/outbox.ts): a property is never in
// flight twice and its later changes merge while it is; other properties do not wait
// behind it; events keep their order with everything. Run by `npm test`
// (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { MAX_IN_FLIGHT, Outbox } = require('../build/test-lib/outbox.js');

const change = (id, attr, value) => ({ kind: 'ModelChanged', model: { id }, attr, value });
const click = (id, n) => ({ kind: 'MessageSent', msg_type: 'bokeh_event', n, model: { id } });
const values = events =>
  events.map(e => (e.kind === 'ModelChanged' ? `${e.model.id}.${e.attr}=${e.value}` : `click${e.n}`));

test('with nothing in flight, everything goes at once, in order', () => {
  const box = new Outbox();
  box.push(change('s', 'value', 1));
  box.push(click('b', 1));
  box.push(change('r', 'start', 0));
  assert.deepEqual(values(box.take()), ['s.value=1', 'click1', 'r.start=0']);
  assert.equal(box.waiting, 0);
  assert.deepEqual(box.take(), []);
});

test('a property in flight merges its later changes into the latest', () => {
  const box = new Outbox();
  box.push(change('s', 'value', 1));
  box.sent('m1', box.take());
  for (let v = 2; v <= 40; v++) {
    box.push(change('s', 'value', v));
    assert.deepEqual(box.take(), [], `value ${v} waits for the answer`);
  }
  assert.equal(box.waiting, 1);
  assert.equal(box.answered('m1'), true);
  assert.deepEqual(values(box.take()), ['s.value=40']);
});

test('another property does not wait behind one in flight', () => {
  const box = new Outbox();
  box.push(change('r', 'start', 0));
  box.push(change('r', 'end', 9));
  box.sent('ranges', box.take());
  box.push(change('r', 'start', 1)); // the plot's range moves again: waits
  box.push(change('s', 'value', 5)); // the slider: goes now
  assert.deepEqual(values(box.take()), ['s.value=5']);
  assert.equal(box.waiting, 1);
  assert.equal(box.answered('ranges'), true);
  assert.deepEqual(values(box.take()), ['r.start=1']);
});

test('an event never overtakes a held change, and nothing overtakes a held event', () => {
  const box = new Outbox();
  box.push(change('t', 'value', 'a'));
  box.sent('m1', box.take());
  box.push(change('t', 'value', 'ab')); // held: t.value is in flight
  box.push(click('b', 1)); // must see "ab": held behind it
  box.push(change('s', 'value', 3)); // after a held event: held too
  assert.deepEqual(box.take(), []);
  box.answered('m1');
  assert.deepEqual(values(box.take()), ['t.value=ab', 'click1', 's.value=3']);
});

test('one patch of events in flight at a time; later events keep their order', () => {
  const box = new Outbox();
  box.push(click('b', 1));
  box.sent('e1', box.take());
  box.push(click('b', 2));
  box.push(click('b', 3));
  assert.deepEqual(box.take(), []);
  box.answered('e1');
  assert.deepEqual(values(box.take()), ['click2', 'click3']);
});

test('at most MAX_IN_FLIGHT patches in flight; a reconnection awaits none', () => {
  const box = new Outbox();
  for (let i = 0; i < MAX_IN_FLIGHT; i++) {
    box.push(change(`m${i}`, 'value', i));
    box.sent(`id${i}`, box.take());
  }
  assert.equal(box.inFlight, MAX_IN_FLIGHT);
  box.push(change('other', 'value', 1));
  assert.deepEqual(box.take(), []);
  assert.equal(box.answered('unknown'), false);
  box.reset();
  assert.equal(box.inFlight, 0);
  assert.deepEqual(values(box.take()), ['other.value=1']);
});
