/**
 * `sessionkit` — the per-manager context.
 *
 * Everything the lifecycle shares lives in one {@link Context}, made once per manager: the resolved
 * options (store, key ring, clock, limits…), this process's commit queues and lock queues, the
 * failed-guess counter, the store-call deadlines and the memo of verified cookies. Events leave
 * the core here ({@link emit}, {@link emitGuess}). Store calls go through the gateway
 * (`gateway.ts`), never from here.
 */

import { DeadlineWheel } from './deadlines.js';
import { hasEventSubscribers, publishSessionEvent } from './diagnostics.js';
import { clientAddress, GuessCounter } from './guesses.js';
import type { ResolvedOptions, SessionEvent } from './options.js';
import { isInProcess } from './store.js';
import { VerifiedIds } from './verified-ids.js';

/** The per-manager context every core function takes first. @internal */
export interface Context extends ResolvedOptions {
  /** In-process commit queue per store key (see `locks.ts`). */
  readonly queues: Map<string, Promise<unknown>>;
  /** Lock mode: this process's queue of lock waiters per store key (see `locks.ts`). */
  readonly lockTurns: Map<string, Promise<void>>;
  /** Failed guesses per client address (`bruteForce`; `undefined` when off). */
  readonly guesses: GuessCounter | undefined;
  /**
   * Store-call deadlines shared by the manager's calls; `undefined` when `storeTimeout` is 0 or
   * the store is in-process (its calls settle before they return: `markInProcess`).
   */
  readonly deadlines: DeadlineWheel | undefined;
  /** Session cookies this manager's key ring recently accepted (see `verified-ids.ts`). */
  readonly verified: VerifiedIds;
  /**
   * Per store operation, the one handler that turns a failed call without a deadline into the
   * gateway's error (made on first use by `gateway.ts`).
   */
  readonly rethrow: Map<string, (error: unknown) => never>;
}

/** Make a manager's context from its resolved options. @internal */
export function createContext(options: ResolvedOptions): Context {
  const { bruteForce, storeTimeout, store } = options;
  const guesses = bruteForce === undefined ? undefined : new GuessCounter(bruteForce);
  const deadlines =
    storeTimeout > 0 && !isInProcess(store)
      ? new DeadlineWheel(storeTimeout, store.name)
      : undefined;
  return {
    ...options,
    queues: new Map(),
    lockTurns: new Map(),
    guesses,
    deadlines,
    verified: new VerifiedIds(),
    rethrow: new Map(),
  };
}

/**
 * `true` when an event would reach someone — an `onEvent` listener or a `sessionkit:event`
 * subscriber — so a hot path can skip building one nobody receives. @internal
 */
export function listening(ctx: Context): boolean {
  return ctx.onEvent !== undefined || hasEventSubscribers();
}

/**
 * Hand `event` to the `onEvent` listener and to the `sessionkit:event` channel's subscribers; a
 * listener that throws never breaks a request. @internal
 */
export function emit(ctx: Context, event: SessionEvent): void {
  try {
    ctx.onEvent?.(event);
    publishSessionEvent(ctx.store.name, event);
  } catch {
    // Listeners must not break requests.
  }
}

/**
 * Emit a failed guess at a session — a forged signature (`invalid-cookie`) or a signed id without
 * a record (`unknown-id`) — and count it against the client's address: reaching the threshold
 * emits `brute-force` once for that address and window. A guess without an address is not
 * counted. @internal
 */
export function emitGuess(
  ctx: Context,
  event: Extract<SessionEvent, { type: 'invalid-cookie' | 'unknown-id' }>,
): void {
  emit(ctx, event);
  const { guesses } = ctx;
  if (guesses === undefined || event.ip === null) return;
  const ip = clientAddress(event.ip);
  if (guesses.add(ip, ctx.now())) {
    emit(ctx, { type: 'brute-force', ip, guesses: guesses.threshold, window: guesses.window });
  }
}

/** First 12 characters of a store key: enough to correlate logs, useless as a credential. @internal */
export function short(key: string): string {
  return key.slice(0, 12);
}
