/**
 * `sessionkit/stores/tiered` — a fast cache store over a persistent store (Redis over
 * PostgreSQL, memory over SQLite…). See `docs/stores/tiered.md`.
 *
 * - Reads go to the cache; a miss reads the persistent tier and fills the cache with that exact
 *   record (data, version, expiry, user), then re-reads the persistent tier once so a fill that
 *   raced a write or a delete is taken back instead of serving stale or deleted data.
 * - Writes go to the persistent tier first — it alone decides compare-and-set — then to the
 *   cache: a conditional cache write that only lands on the version the persistent tier just
 *   replaced; anything else (a conflict, an unconditional write, a persistent failure) deletes
 *   the cache entry so the next read fills it afresh.
 * - Locks, the per-user index, `prune` and `ids` belong to the persistent tier.
 * - The cache is best effort: a failing cache reads as a miss and never fails a request. A
 *   failing persistent tier rejects with `StoreError`.
 * - While the persistent tier is down, a `get` of a record the cache holds is still answered
 *   from the cache; everything that must reach the persistent tier (a miss, `set`, `touch`,
 *   `delete`, `deleteByUser`, locks) rejects with `StoreError`, and a failed `set`, `touch`,
 *   `delete` or `deleteByUser` drops the affected cache entries (the call may have landed), so
 *   a destroyed or revoked session is never served from the cache.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertStoreKey,
  assertStoreRecord,
  isSessionStore,
  isStoreKey,
  type SessionStore,
  type StoreCallOptions,
  type StoreRecord,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';

const NAME = 'tiered';
/** Most keys remembered whose cache invalidation failed (see {@link TieredStoreOptions}). */
const DEFAULT_MAX_PENDING = 10_000;

/** Options of {@link tieredStore}. */
export interface TieredStoreOptions {
  /**
   * The fast tier, shared by every process that shares `persistent` (e.g. Redis; an in-process
   * memory store only for a single process). Its failures degrade to cache misses. Required.
   */
  cache: SessionStore;
  /** The tier of record: decides every compare-and-set, holds locks and the per-user index. Required. */
  persistent: SessionStore;
  /**
   * Most keys this process remembers whose cache invalidation failed (cache down during a
   * write or delete); reads of those keys bypass the cache until an invalidation succeeds.
   * Beyond it the oldest are forgotten.
   * @default 10_000
   */
  maxPendingInvalidations?: number | undefined;
}

/**
 * Create a tiered store. Throws `ConfigError` (`ERR_SESSION_CONFIG`) when `cache` or
 * `persistent` is not a store, or they are the same object. Has `lock`/`unlock`, `listByUser`,
 * `deleteByUser`, `prune` and `ids` exactly when the persistent tier has them. Persistent
 * failures reject with `StoreError` (`ERR_SESSION_STORE`); invalid keys on writes with
 * `ERR_SESSION_INVALID_KEY`; cache failures never reject. No `close`: the tiers belong to the
 * caller, who closes them.
 */
export function tieredStore(options: TieredStoreOptions): SessionStore {
  const { cache, persistent } = options ?? ({} as TieredStoreOptions);
  for (const [name, tier] of [
    ['cache', cache],
    ['persistent', persistent],
  ] as const) {
    if (!isSessionStore(tier)) {
      throw new ConfigError(
        `tieredStore: \`${name}\` must be a session store (get/set/touch/delete).`,
      );
    }
  }
  if (cache === persistent) {
    throw new ConfigError('tieredStore: `cache` and `persistent` must be two different stores.');
  }
  const maxPending = options.maxPendingInvalidations ?? DEFAULT_MAX_PENDING;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new ConfigError('tieredStore: `maxPendingInvalidations` must be a positive integer.');
  }
  // Keys whose cache entry may be stale because deleting it failed: never served from the cache.
  const pending = new Set<string>();

  /** Run a cache call; a failure (not an abort) is a miss. */
  async function soft<T>(
    fn: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      throwIfAborted(signal);
      void error; // The cache is best effort: a failure degrades to a miss.
      return undefined;
    }
  }

  /** Drop the cache entry of `key`; remember the key when that fails. */
  async function invalidate(key: string, signal: AbortSignal | undefined): Promise<void> {
    const done = await soft(() => cache.delete(key), signal);
    if (done !== undefined) {
      pending.delete(key);
      return;
    }
    pending.delete(key);
    pending.add(key);
    if (pending.size > maxPending) pending.delete(pending.values().next().value as string);
  }

  /** Run a persistent call; its failure is a `StoreError` and leaves the cache entry dropped. */
  async function hard<T>(
    operation: string,
    key: string | undefined,
    fn: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      // The write may or may not have happened: the cache must not keep the old record.
      if (key !== undefined && isStoreKey(key)) await invalidate(key, undefined);
      throw toStoreError(NAME, operation, error, signal);
    }
  }

  async function readThrough(key: string, o: StoreCallOptions): Promise<StoreRecord | undefined> {
    const signal = o.signal;
    if (pending.has(key)) {
      await invalidate(key, signal);
      if (pending.has(key)) return hard('get', undefined, () => persistent.get(key, o), signal);
    }
    const cached = await soft(() => cache.get(key, o), signal);
    if (cached !== undefined) return cached;
    const found = await hard('get', undefined, () => persistent.get(key, o), signal);
    if (found === undefined) return undefined;
    // Create-only: never overwrite what a concurrent write put in the cache.
    const filled = await soft(() => cache.set(key, found, { ...o, ifVersion: 0 }), signal);
    if (filled === true) {
      // A write or delete may have landed between our read and our fill: check once more. If
      // that check fails, the fill is dropped too (`hard` with the key): unchecked, it could be
      // a logged-out session, served from the cache while the persistent tier is down.
      const again = await hard('get', key, () => persistent.get(key, o), signal);
      if (again?.version !== found.version) await invalidate(key, signal);
    }
    return found;
  }

  /** Drop a user's cache entries: the cache's own per-user index, else the keys `listed`. */
  async function forgetUser(
    userId: string,
    listed: readonly { key: string }[] | undefined,
    except: readonly string[] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (listed === undefined && typeof cache.deleteByUser === 'function') {
      // The cache's own per-user index covers exactly what it holds of this user.
      await soft(() => cache.deleteByUser!(userId, { except }), signal);
      return;
    }
    const keep = new Set(except ?? []);
    for (const { key } of listed ?? []) if (!keep.has(key)) await invalidate(key, signal);
  }

  const store: SessionStore = {
    name: NAME,
    async get(key, o = {}) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return undefined;
      return readThrough(key, o);
    },
    async set(key, record, o = {}) {
      throwIfAborted(o.signal);
      assertStoreKey(key);
      assertStoreRecord(record);
      const { ifVersion } = o;
      const written = await hard('set', key, () => persistent.set(key, record, o), o.signal);
      if (!written || ifVersion === undefined) {
        // A conflict means the cache may hold an older record; an unconditional write cannot be
        // ordered against a concurrent one in the cache. Either way: let the next read fill it.
        await invalidate(key, o.signal);
        return written;
      }
      // The cache takes the record only over the version the persistent tier just replaced.
      const cached = await soft(() => cache.set(key, record, { ifVersion }), o.signal);
      if (cached !== true) await invalidate(key, o.signal);
      else pending.delete(key);
      return true;
    },
    async touch(key, expiresAt, o = {}) {
      throwIfAborted(o.signal);
      assertExpiresAt(expiresAt);
      if (!isStoreKey(key)) return persistent.touch(key, expiresAt, o);
      const touched = await hard('touch', key, () => persistent.touch(key, expiresAt, o), o.signal);
      const cached = touched && (await soft(() => cache.touch(key, expiresAt, o), o.signal));
      // A missing cache entry is fine (filled on the next read); a failure or a gone record is not.
      if (cached === undefined || !touched) await invalidate(key, o.signal);
      return touched;
    },
    async delete(key, o = {}) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return false;
      const deleted = await hard('delete', key, () => persistent.delete(key, o), o.signal);
      await invalidate(key, o.signal);
      return deleted;
    },
  };

  if (typeof persistent.lock === 'function' && typeof persistent.unlock === 'function') {
    store.lock = (key, o) => persistent.lock!(key, o);
    store.unlock = (key, o) => persistent.unlock!(key, o);
  }
  if (typeof persistent.listByUser === 'function') {
    store.listByUser = (userId, o) => persistent.listByUser!(userId, o);
  }
  if (typeof persistent.deleteByUser === 'function') {
    store.deleteByUser = async (userId, o = {}) => {
      throwIfAborted(o.signal);
      // Without a per-user index in the cache, learn the user's keys before they are deleted.
      const listed =
        typeof cache.deleteByUser === 'function' || typeof persistent.listByUser !== 'function'
          ? undefined
          : await hard('listByUser', undefined, () => persistent.listByUser!(userId, o), o.signal);
      let count: number;
      try {
        count = await hard(
          'deleteByUser',
          undefined,
          () => persistent.deleteByUser!(userId, o),
          o.signal,
        );
      } catch (error) {
        // The delete may have landed before the failure: a revoked session must not stay
        // servable from the cache while the persistent tier is down.
        await forgetUser(userId, listed, o.except, undefined);
        throw error;
      }
      await forgetUser(userId, listed, o.except, o.signal);
      return count;
    };
  }
  if (typeof persistent.prune === 'function') {
    store.prune = async (o = {}) => {
      throwIfAborted(o.signal);
      const count = await hard('prune', undefined, () => persistent.prune!(o), o.signal);
      if (typeof cache.prune === 'function') await soft(() => cache.prune!(), o.signal);
      return count;
    };
  }
  if (typeof persistent.ids === 'function') {
    store.ids = (o) => persistent.ids!(o);
  }
  return store;
}
