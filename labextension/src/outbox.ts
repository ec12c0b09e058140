/**
 * The page's changes on their way to the kernel (browser -> kernel), held until they may
 * go. A property is never in flight twice: while the kernel has not answered the
 * PATCH-DOC that carries a change of it, later changes of it wait here and merge into the
 * latest (a slider dragged over a slow callback gives the callback the value where the
 * drag is now, not every value on the way). A change of another property does not wait
 * behind that answer: a slider moved while an auto-ranged plot sends its new ranges goes
 * at once, instead of queueing behind replies that the kernel sent after a backlog of
 * streamed data.
 *
 * Order: property changes may overtake held property changes (values are state: the
 * kernel ends with the latest of each), as the merging always did. Events (a button
 * click, a tap, streamed or patched columns: anything but a property change) keep their
 * order with everything: one PATCH-DOC carrying events is in flight at a time, an event
 * never overtakes a held change (a click sees the text typed before it), and nothing
 * overtakes a held event.
 */

/** The part of a BokehJS document event this needs. */
export interface IOutEvent {
  readonly kind?: string;
  readonly model?: { readonly id: string };
  readonly attr?: string;
}

/** PATCH-DOCs in flight at most, whatever they carry. */
export const MAX_IN_FLIGHT = 8;

/** The one key of everything that is not a property change. */
const EVENTS = 'events';

function isPropertyChange(ev: IOutEvent): boolean {
  return ev.kind === 'ModelChanged' && ev.model !== undefined && ev.attr !== undefined;
}

function keyOf(ev: IOutEvent): string {
  return isPropertyChange(ev) ? `${ev.model?.id}\u0000${ev.attr}` : EVENTS;
}

export class Outbox<E extends IOutEvent> {
  private _queue: E[] = [];
  private _inFlight = new Map<string, Set<string>>(); // PATCH-DOC msgid -> keys it carries

  /** Events waiting. */
  get waiting(): number {
    return this._queue.length;
  }

  /** PATCH-DOCs sent and not yet answered. */
  get inFlight(): number {
    return this._inFlight.size;
  }

  /** Queue a change; a waiting change of the same property is replaced by it. */
  push(ev: E): void {
    if (isPropertyChange(ev)) {
      const key = keyOf(ev);
      const i = this._queue.findIndex(q => isPropertyChange(q) && keyOf(q) === key);
      if (i >= 0) {
        this._queue.splice(i, 1);
      }
    }
    this._queue.push(ev);
  }

  /** Take off the queue, in order, what may go now (possibly nothing). */
  take(): E[] {
    if (this._queue.length === 0 || this._inFlight.size >= MAX_IN_FLIGHT) {
      return [];
    }
    const busy = new Set<string>();
    for (const keys of this._inFlight.values()) {
      keys.forEach(k => busy.add(k));
    }
    const go: E[] = [];
    const held: E[] = [];
    let heldChange = false;
    let barrier = false;
    for (const ev of this._queue) {
      const change = isPropertyChange(ev);
      if (barrier || busy.has(keyOf(ev)) || (!change && heldChange)) {
        held.push(ev);
        heldChange ||= change;
        barrier ||= !change;
      } else {
        go.push(ev);
      }
    }
    this._queue = held;
    return go;
  }

  /** events went as the PATCH-DOC msgid. */
  sent(msgid: string, events: readonly E[]): void {
    this._inFlight.set(msgid, new Set(events.map(keyOf)));
  }

  /** The kernel answered msgid; true if it was one of these PATCH-DOCs. */
  answered(msgid: string): boolean {
    return this._inFlight.delete(msgid);
  }

  /** The connection came back: answers on the old one may be lost, so none is awaited. */
  reset(): void {
    this._inFlight.clear();
  }
}
