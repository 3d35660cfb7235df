/**
 * `sessionkit` — who may work on a session when: the in-process commit queue (every mode), and
 * the lease lock of the `lock` mode with its in-process turn queue.
 */

import { randomBytes } from 'node:crypto';
import { type Context, emit, short, storeLock, storeUnlock } from './context.js';
import { hasEventSubscribers, publishEvent } from './diagnostics.js';
import { LockTimeoutError } from './errors.js';
import type { SessionState } from './state.js';

/**
 * Run `fn` after every earlier `serialize` of `key` in this process settled. Commits to one key
 * run one at a time in this process, so CAS conflicts only come from other processes; the CAS
 * path stays correct without this queue. @internal
 */
export function serialize<T>(ctx: Context, key: string, fn: () => Promise<T>): Promise<T> {
  const { queues } = ctx;
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(settled, settled);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/**
 * Take the lease lock on `key` for this request (lock mode), waiting at most `lock.wait` ms.
 * Rejects with `LockTimeoutError` (event `lock-timeout`) or `StoreError`. @internal
 */
export async function acquireLock(ctx: Context, s: SessionState, key: string): Promise<void> {
  const owner = randomBytes(16).toString('base64url');
  const started = ctx.now();
  const deadline = Date.now() + ctx.lockWait;
  const timeout = (): LockTimeoutError => {
    emit(ctx, { type: 'lock-timeout', handle: short(key) });
    return new LockTimeoutError(Math.max(0, ctx.now() - started), Math.ceil(ctx.lockWait / 1000));
  };
  // Waiters in this process queue here, and only the head polls the store: N requests for one
  // session cost the store O(N) lock calls instead of N pollers hammering it (and its pool)
  // while the holder's own reads and writes wait behind them. Other processes still meet at
  // the store's lock.
  const queued = ctx.lockTurns.has(key); // another request of this process is ahead
  const previous = joinTurns(ctx, s, key);
  try {
    if (!(await within(previous, deadline - Date.now()))) throw timeout();
    let delay = 5;
    for (let attempt = 1; ; attempt++) {
      if (await storeLock(ctx, key, owner)) {
        s.lockOwner = owner;
        s.lockKey = key;
        // Taken after a wait: behind another request of this process, or after a refusal.
        if ((queued || attempt > 1) && hasEventSubscribers()) {
          const waited = Math.max(0, Date.now() - (deadline - ctx.lockWait));
          publishEvent({ store: ctx.store.name, type: 'lock-wait', handle: short(key), waited });
        }
        return;
      }
      if (Date.now() >= deadline) throw timeout();
      await sleep(Math.min(delay + Math.random() * delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 100);
    }
  } catch (error) {
    const endTurn = s.endTurn;
    s.endTurn = undefined;
    endTurn?.();
    throw error;
  }
}

/**
 * Release the request's lock (if it holds one) and pass its turn on. Rejects with `StoreError`
 * when the unlock fails; the turn passes on either way. @internal
 */
export async function releaseLock(ctx: Context, s: SessionState): Promise<void> {
  const { lockKey, lockOwner, endTurn } = s;
  s.endTurn = undefined;
  try {
    if (lockKey === null || lockOwner === null) return;
    s.lockKey = null;
    s.lockOwner = null;
    await storeUnlock(ctx, lockKey, lockOwner);
  } finally {
    endTurn?.(); // after the unlock, so the next local waiter's first lock call succeeds
  }
}

/**
 * Queue this request behind the other local waiters for `key`; resolves the turn before ours.
 * Our own turn ends with `s.endTurn()` — or after the lock ttl, like the store's lease, should a
 * holder never end its request.
 */
function joinTurns(ctx: Context, s: SessionState, key: string): Promise<void> {
  const { lockTurns } = ctx;
  const turn = new Promise<void>((resolve) => {
    const lease = setTimeout(resolve, ctx.lockTtl);
    lease.unref?.();
    s.endTurn = () => {
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
  return previous;
}

function settled(): undefined {
  return undefined;
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
