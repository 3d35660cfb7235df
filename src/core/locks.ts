/**
 * `sessionkit` — who may work on a session when: the in-process commit queue (every mode), and
 * lease locks with their in-process turn queue — the session lock of the `lock` mode, and the
 * per-user lock of the `reject` session limit (`users.ts`).
 */

import { randomBytes } from 'node:crypto';
import { type Context, emit, short } from './context.js';
import { hasEventSubscribers, publishEvent } from './diagnostics.js';
import { ConflictError, LockTimeoutError } from './errors.js';
import { storeLock, storeUnlock } from './gateway.js';
import type { SessionState } from './state.js';

/**
 * Run `fn` after every earlier `serialize` of `key` in this process settled. Commits to one key
 * run one at a time in this process, so CAS conflicts only come from other processes; the CAS
 * path stays correct without this queue. @internal
 */
export function serialize<T>(ctx: Context, key: string, fn: () => Promise<T>): Promise<T> {
  const { queues } = ctx;
  const previous = queues.get(key);
  // Nothing queued (the usual case): start at once, without a hop through a resolved promise.
  const run = previous === undefined ? start(fn) : previous.then(fn, fn);
  queues.set(key, run);
  const forget = (): void => {
    if (queues.get(key) === run) queues.delete(key);
  };
  run.then(forget, forget);
  return run;
}

function start<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A lease lock this process holds on a store key: a session's (lock mode) or a user's (the
 * `reject` session limit). @internal
 */
export interface Lease {
  /** The store key the lock is on. */
  readonly key: string;
  /** This holder's random owner token. */
  readonly owner: string;
  /**
   * When the store last granted or renewed the lease, read just *before* that call (so the lease
   * ends no earlier than this plus its ttl): on the manager's clock and on the wall clock, since
   * a store may judge leases by either (an injected `now`, or the backend's own time).
   */
  grantedAt: number;
  grantedWall: number;
  /** Ends the holder's turn in this process's queue of waiters for `key`. */
  readonly endTurn: () => void;
}

/**
 * Take the lease lock on `key`, waiting at most `lock.wait` ms. Rejects with `LockTimeoutError`
 * (event `lock-timeout`) or `StoreError`; the caller gives the lease back with {@link dropLease}.
 * @internal
 */
export async function takeLease(ctx: Context, key: string): Promise<Lease> {
  const owner = randomBytes(16).toString('base64url');
  const started = ctx.now();
  const deadline = Date.now() + ctx.lockWait;
  const timeout = (): LockTimeoutError => {
    emit(ctx, { type: 'lock-timeout', handle: short(key) });
    return new LockTimeoutError(Math.max(0, ctx.now() - started), Math.ceil(ctx.lockWait / 1000));
  };
  // Waiters in this process queue here, and only the head polls the store: N requests for one
  // key cost the store O(N) lock calls instead of N pollers hammering it (and its pool) while
  // the holder's own reads and writes wait behind them. Other processes still meet at the
  // store's lock.
  const queued = ctx.lockTurns.has(key); // another request of this process is ahead
  const { previous, endTurn } = joinTurns(ctx, key);
  try {
    if (!(await within(previous, deadline - Date.now()))) throw timeout();
    let delay = 5;
    for (let attempt = 1; ; attempt++) {
      const grantedAt = ctx.now();
      const grantedWall = Date.now();
      if (await storeLock(ctx, key, owner)) {
        // Taken after a wait: behind another request of this process, or after a refusal.
        if ((queued || attempt > 1) && hasEventSubscribers()) {
          const waited = Math.max(0, Date.now() - (deadline - ctx.lockWait));
          publishEvent({ store: ctx.store.name, type: 'lock-wait', handle: short(key), waited });
        }
        return { key, owner, grantedAt, grantedWall, endTurn };
      }
      if (Date.now() >= deadline) throw timeout();
      await sleep(Math.min(delay + Math.random() * delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 100);
    }
  } catch (error) {
    endTurn();
    throw error;
  }
}

/**
 * Give a lease back and pass the turn on. Rejects with `StoreError` when the unlock fails; the
 * turn passes on either way. @internal
 */
export async function dropLease(ctx: Context, lease: Lease): Promise<void> {
  try {
    await storeUnlock(ctx, lease.key, lease.owner);
  } finally {
    lease.endTurn(); // after the unlock, so the next local waiter's first lock call succeeds
  }
}

/**
 * Fence a write made under `lease` (security bar §19): renew the lease and verify it never lapsed
 * since it was granted, else throw `ConflictError` (`lock-lost`, 409; event `conflict`). The
 * store's `lock` also grants a lapsed lease nobody took meanwhile — or one another holder took,
 * wrote under and released — so the lapse is judged here, conservatively, on both clocks. Once
 * renewed, the write has a whole ttl to land. Rejects with `StoreError` when the renewal fails.
 * @internal
 */
export async function confirmLease(ctx: Context, lease: Lease): Promise<void> {
  const grantedAt = ctx.now();
  const grantedWall = Date.now();
  const lapsed =
    grantedAt - lease.grantedAt >= ctx.lockTtl || grantedWall - lease.grantedWall >= ctx.lockTtl;
  if (lapsed || !(await storeLock(ctx, lease.key, lease.owner))) {
    emit(ctx, { type: 'conflict', handle: short(lease.key), reason: 'lock-lost' });
    throw new ConflictError('lock-lost');
  }
  lease.grantedAt = grantedAt;
  lease.grantedWall = grantedWall;
}

/**
 * Before a write of the request's session in lock mode: {@link confirmLease} on its session lock
 * (throws `ConflictError` `lock-lost` when it lapsed). Without a lock held, does nothing.
 * @internal
 */
export async function fenceWrite(ctx: Context, s: SessionState): Promise<void> {
  if (s.lease !== undefined) await confirmLease(ctx, s.lease);
}

/**
 * Take the session lock on `key` for this request (lock mode). Rejects like {@link takeLease},
 * after which the request holds nothing. @internal
 */
export async function acquireLock(ctx: Context, s: SessionState, key: string): Promise<void> {
  s.lease = await takeLease(ctx, key);
}

/**
 * Release the request's lock (if it holds one) and pass its turn on. Rejects with `StoreError`
 * when the unlock fails; the turn passes on either way. @internal
 */
export async function releaseLock(ctx: Context, s: SessionState): Promise<void> {
  const { lease } = s;
  s.lease = undefined;
  if (lease !== undefined) await dropLease(ctx, lease);
}

/**
 * Queue behind this process's other waiters for `key`: resolves the turn before ours, and how to
 * end ours — which also ends by itself after the lock ttl, like the store's lease, should a
 * holder never give it back.
 */
function joinTurns(ctx: Context, key: string): { previous: Promise<void>; endTurn: () => void } {
  const { lockTurns } = ctx;
  let endTurn!: () => void;
  const turn = new Promise<void>((resolve) => {
    const lease = setTimeout(resolve, ctx.lockTtl);
    lease.unref?.();
    endTurn = () => {
      clearTimeout(lease);
      resolve();
    };
  });
  const previous = lockTurns.get(key) ?? Promise.resolve();
  const tail = previous.then(() => turn);
  lockTurns.set(key, tail);
  void tail.then(() => {
    if (lockTurns.get(key) === tail) lockTurns.delete(key);
  });
  return { previous, endTurn };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `true` when `promise` settles within `ms`, `false` otherwise (its timer is cleared either way). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), false);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
