// What a notebook page tells the kernel of the frames it has handled (src/acks.ts): every
// ACK_EVERY frames, after ACK_AFTER_MS of handling, each frame the kernel asked about,
// unless a PATCH-DOC carried it; at most one per ACK_GAP_MS, naming the last frame handled
// when the gap ends. Run by `npm test` (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Acknowledgements } = require('../build/test-lib/acks.js');
const { ACK_AFTER_MS, ACK_EVERY, ACK_GAP_MS } = require('../build/test-lib/protocol.js');

/** A clock the test moves by hand; `tick(ms)` runs the timers due by then. */
function fakeClock() {
  let now = 1000;
  let timers = [];
  return {
    now: () => now,
    later: (fn, ms) => timers.push({ at: now + ms, fn }),
    tick(ms) {
      now += ms;
      const due = timers.filter(t => t.at <= now);
      timers = timers.filter(t => t.at > now);
      due.forEach(t => t.fn());
    },
    get pending() {
      return timers.length;
    }
  };
}

function page(live = () => true) {
  const clock = fakeClock();
  const sent = [];
  const acks = new Acknowledgements(seq => sent.push(seq), live, clock);
  return { clock, sent, acks };
}

test('every ACK_EVERY frames, or after ACK_AFTER_MS of handling, or when asked', () => {
  const { clock, sent, acks } = page();
  for (let seq = 1; seq <= ACK_EVERY; seq++) {
    acks.handled(seq, 0, false);
  }
  assert.deepEqual(sent, [ACK_EVERY]);
  clock.tick(ACK_GAP_MS);
  acks.handled(ACK_EVERY + 1, ACK_AFTER_MS, false);
  assert.deepEqual(sent, [ACK_EVERY, ACK_EVERY + 1]);
  clock.tick(ACK_GAP_MS);
  acks.handled(ACK_EVERY + 2, 0, false);
  assert.equal(sent.length, 2, 'not due: nothing');
  acks.handled(ACK_EVERY + 3, 0, true);
  assert.deepEqual(sent, [ACK_EVERY, ACK_EVERY + 1, ACK_EVERY + 3]);
});

test('a PATCH-DOC carries what was handled, and then nothing is due', () => {
  const { clock, sent, acks } = page();
  acks.handled(1, 0, false);
  assert.equal(acks.rideAlong(), 1);
  assert.equal(acks.rideAlong(), null);
  clock.tick(ACK_GAP_MS);
  acks.handled(2, 0, true);
  assert.deepEqual(sent, [2]);
  assert.equal(acks.rideAlong(), null);
});

test('what is due within the gap goes at its end, naming the last frame handled', () => {
  const { clock, sent, acks } = page();
  acks.handled(1, 0, true);
  assert.deepEqual(sent, [1]);
  for (let seq = 2; seq <= 6; seq++) {
    clock.tick(2);
    acks.handled(seq, 0, true); // a lagging page is asked about every frame
  }
  assert.deepEqual(sent, [1], 'nothing more within the gap');
  assert.equal(clock.pending, 1, 'one acknowledgement waits, however many were due');
  clock.tick(ACK_GAP_MS);
  assert.deepEqual(sent, [1, 6]);
  assert.equal(clock.pending, 0);
});

test('a PATCH-DOC within the gap takes what waited: the timer then sends nothing', () => {
  const { clock, sent, acks } = page();
  acks.handled(1, 0, true);
  clock.tick(1);
  acks.handled(2, 0, true);
  assert.equal(acks.rideAlong(), 2);
  clock.tick(ACK_GAP_MS);
  assert.deepEqual(sent, [1]);
});

test('nothing goes while the comm is closed', () => {
  let live = false;
  const { clock, sent, acks } = page(() => live);
  acks.handled(1, 0, true);
  assert.deepEqual(sent, []);
  live = true;
  clock.tick(ACK_GAP_MS);
  acks.handled(2, 0, true);
  assert.deepEqual(sent, [2]);
});
