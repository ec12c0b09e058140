/**
 * What a notebook page tells the kernel of the session's frames it has handled. The
 * kernel holds a session's changes, merged, while a page is ACK_WINDOW frames or
 * ACK_WINDOW_BYTES bytes behind (bokeh_nb/kernel/flow.py). The page acknowledges every
 * ACK_EVERY frames handled, as soon as handling frames took ACK_AFTER_MS since the last
 * acknowledgement, and each frame the kernel marked `acknowledge` (it lags this page),
 * unless a PATCH-DOC of this page carried the acknowledgement first (`rideAlong`). (A
 * page that has handled everything is fewer than ACK_EVERY frames and a few ms of work
 * behind in the kernel's count, far from the window, so the rest needs no acknowledgement
 * of its own.) One due within ACK_GAP_MS of the last goes at the end of that gap, naming
 * what the page has handled by then: each is a request the kernel handles in turn, and
 * the page's next event would queue behind them.
 */

import { ACK_AFTER_MS, ACK_EVERY, ACK_GAP_MS } from './protocol';

/** A clock in ms and a one-shot timer (the page's own by default; tests bring theirs). */
export interface IClock {
  now(): number;
  later(fn: () => void, ms: number): void;
}

const PAGE_CLOCK: IClock = {
  now: () => performance.now(),
  later: (fn, ms) => {
    setTimeout(fn, ms);
  }
};

export class Acknowledgements {
  private _seq = 0; // the last frame handled
  private _acked = 0; // the last frame the kernel was told of
  private _handlingMs = 0; // spent handling frames since then
  private _ackedAt = -Infinity; // when the last acknowledgement of its own went
  private _waiting = false; // one is due at the end of the gap

  /** `send(seq)` sends an acknowledgement when `live()` (the comm is open). */
  constructor(
    private readonly _send: (seq: number) => void,
    private readonly _live: () => boolean,
    private readonly _clock: IClock = PAGE_CLOCK
  ) {}

  /** The page has handled frame `seq`, in `ms`; `asked`: the kernel marked it. */
  handled(seq: number, ms: number, asked: boolean): void {
    this._seq = Math.max(this._seq, seq);
    this._handlingMs += ms;
    if (asked || this._seq - this._acked >= ACK_EVERY || this._handlingMs >= ACK_AFTER_MS) {
      this._acknowledge();
    }
  }

  /** The frame a PATCH-DOC of this page carries to the kernel (`ack`), if any. */
  rideAlong(): number | null {
    if (this._seq <= this._acked) {
      return null;
    }
    this._acked = this._seq;
    this._handlingMs = 0;
    return this._seq;
  }

  private _acknowledge(): void {
    if (this._seq <= this._acked || !this._live()) {
      return;
    }
    const wait = this._ackedAt + ACK_GAP_MS - this._clock.now();
    if (wait > 0) {
      if (!this._waiting) {
        this._waiting = true;
        this._clock.later(() => {
          this._waiting = false;
          this._acknowledge();
        }, wait);
      }
      return;
    }
    this._acked = this._seq;
    this._ackedAt = this._clock.now();
    this._handlingMs = 0;
    this._send(this._seq);
  }
}
