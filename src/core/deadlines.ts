/**
 * `sessionkit` — store-call deadlines without a timer or an `AbortController` per call.
 *
 * `storeTimeout` bounds every store call. Giving each call its own `AbortController`, timer and
 * `Promise.race` costs three long-lived objects per call: they outlive the young generation (the
 * timer holds them for `storeTimeout`) and turn into full collections under load. Instead, calls
 * are grouped into **ticks**: a tick opens with the first call after the previous one closed and
 * admits calls for `storeTimeout / 16` ms; it owns one `AbortController` (the `signal` every store
 * call of the tick receives) and one timer that fires `storeTimeout` ms after the tick opened.
 * When it fires, every call of the tick that is still pending is rejected with a `StoreError`
 * naming its operation, then the shared signal is aborted with a `StoreError` as its reason.
 *
 * So a hung call fails after between 15/16 and all of `storeTimeout` — never later than
 * `storeTimeout` — and a call costs one node in its tick's list of pending calls, unlinked when it
 * settles, so a fast call leaves nothing behind for the collector to promote. The timer keeps the process
 * alive only while its tick has pending calls, and is cleared once the tick is closed and empty.
 */

import { StoreError } from './errors.js';

/** How many ticks one `storeTimeout` spans: a call gets at least 15/16 of its deadline. */
const TICKS_PER_TIMEOUT = 16;

/** The options bag every store call of a tick receives when it has nothing else to pass. */
interface SignalOnly {
  readonly signal: AbortSignal;
}

/**
 * One call a tick is waiting for: a node of the tick's list of pending calls (a list, not a `Map`:
 * a map that empties and fills again on every call reallocates its table each time).
 */
interface Pending {
  prev: Pending | undefined;
  next: Pending | undefined;
  /** Still in its tick's list. */
  pending: boolean;
  readonly operation: string;
  fail(error: unknown): void;
}

/** A {@link Pending} call that settles its caller's promise. */
class Call<T, C> implements Pending {
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  /** Still in its tick's list. */
  pending = true;

  constructor(
    readonly tick: Tick,
    readonly operation: string,
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
    readonly failure: ((context: C, operation: string, error: unknown) => unknown) | undefined,
    readonly context: C | undefined,
  ) {}

  /** The work succeeded: resolve, unless the deadline failed the call first. */
  done(value: T): void {
    if (this.tick.settle(this)) this.resolve(value);
  }

  /** The work, or the deadline, failed: reject (mapped by `failure`) once. */
  fail(error: unknown): void {
    if (!this.tick.settle(this)) return;
    const { failure } = this;
    this.reject(failure === undefined ? error : failure(this.context as C, this.operation, error));
  }
}

/** Calls admitted during one window, sharing one signal and one timer. */
class Tick {
  /** Aborted when the tick expires. */
  readonly controller: AbortController = new AbortController();
  /** `{ signal }`: shared by every call without other options. */
  readonly options: SignalOnly = { signal: this.controller.signal };
  /** The still-running calls of this tick, a doubly linked list, and how many. */
  first: Pending | undefined = undefined;
  size = 0;
  /** No call joins this tick at or after this time (ms since the epoch). */
  readonly closesAt: number;
  /** Fires `storeTimeout` after the tick opened; `undefined` once cleared or fired. */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly wheel: DeadlineWheel,
    now: number,
  ) {
    this.closesAt = now + wheel.width;
    this.timer = setTimeout(expire, wheel.timeout, this);
    unref(this.timer);
  }

  /** Wait for `call`. */
  add(call: Pending): void {
    if (this.size === 0) ref(this.timer);
    const { first } = this;
    call.next = first;
    if (first !== undefined) first.prev = call;
    this.first = call;
    this.size++;
  }

  /**
   * Forget a call that settled; clear the timer once the tick can take no more calls. `false` when
   * the call was no longer pending (it had failed by the deadline already).
   */
  settle(call: Pending): boolean {
    if (!call.pending) return false;
    call.pending = false;
    const { prev, next } = call;
    if (prev === undefined) this.first = next;
    else prev.next = next;
    if (next !== undefined) next.prev = prev;
    call.prev = undefined;
    call.next = undefined;
    if (--this.size > 0) return true;
    // Still admitting calls: keep the timer for them, without holding the process open.
    if (this.wheel.current === this && Date.now() < this.closesAt) unref(this.timer);
    else this.clear();
    return true;
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.wheel.current === this) this.wheel.current = undefined;
  }
}

/** The tick's timer fired: fail what is still pending, then abort the shared signal. */
function expire(tick: Tick): void {
  tick.timer = undefined;
  if (tick.wheel.current === tick) tick.wheel.current = undefined;
  const { name, timeout } = tick.wheel;
  // Each call leaves the list as it fails.
  for (let call = tick.first; call !== undefined; call = tick.first) {
    call.fail(
      new StoreError(
        `The ${name} session store did not answer ${call.operation} within ${timeout} ms.`,
      ),
    );
  }
  tick.controller.abort(
    new StoreError(`The ${name} session store did not answer within ${timeout} ms.`),
  );
}

function unref(timer: ReturnType<typeof setTimeout> | undefined): void {
  (timer as { unref?: () => unknown } | undefined)?.unref?.();
}

function ref(timer: ReturnType<typeof setTimeout> | undefined): void {
  (timer as { ref?: () => unknown } | undefined)?.ref?.();
}

/**
 * One manager's store deadlines (`storeTimeout` > 0): see the module header. Made once per
 * manager by `createContext`. @internal
 */
export class DeadlineWheel {
  /** The tick admitting calls now, if any. */
  current: Tick | undefined = undefined;
  /** How long a tick admits calls, in ms. */
  readonly width: number;

  /**
   * @param timeout `storeTimeout`, in ms (> 0).
   * @param name The store's name, for the error message.
   */
  constructor(
    readonly timeout: number,
    readonly name: string,
  ) {
    this.width = Math.max(1, Math.floor(timeout / TICKS_PER_TIMEOUT));
  }

  /** The tick a call starting now joins (a new one when the current one closed). */
  enter(): Tick {
    const now = Date.now();
    const tick = this.current;
    if (tick !== undefined && now < tick.closesAt) return tick;
    if (tick !== undefined && tick.size === 0) tick.clear();
    const next = new Tick(this, now);
    this.current = next;
    return next;
  }

  /**
   * Settle like `work`, or fail when `tick` expires first (work started in `tick`, with its
   * signal) with a `StoreError` naming `operation`. With `failure`, either failure — the work's
   * own error or the deadline's — rejects with what `failure(context, operation, error)` makes of
   * it, called once per call: the caller's error mapping rides on the one promise a call costs
   * here.
   */
  guard<T, C = undefined>(
    tick: Tick,
    operation: string,
    work: Promise<T>,
    failure?: (context: C, operation: string, error: unknown) => unknown,
    context?: C,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = new Call(tick, operation, resolve, reject, failure, context);
      tick.add(call);
      work.then(
        (value) => call.done(value),
        (error: unknown) => call.fail(error),
      );
    });
  }
}
