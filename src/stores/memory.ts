/**
 * `sessionkit/stores/memory` — an in-process session store.
 *
 * For development, tests and single-process deployments. Records live in this process only:
 * they are lost on restart and not shared between processes or machines. Bounded by
 * `maxEntries` with least-recently-used eviction; expired records are invisible at once and
 * freed by a periodic sweep (or `prune`). See `docs/stores/memory.md`.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  markInProcess,
  type SessionStore,
  type StoreRecord,
  throwIfAborted,
} from '../core/store.js';

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_SWEEP_INTERVAL = 60_000;

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most records kept. Writing one more evicts the least recently used record (a read, write
   * or touch counts as use). A positive integer.
   * @default 10_000
   */
  maxEntries?: number | undefined;
  /**
   * Milliseconds between sweeps that free expired records and locks; `0` disables the sweep
   * (expired records stay invisible and are freed by `prune`, eviction or the next access).
   * The timer is `unref()`ed and stopped by `close()`.
   * @default 60_000
   */
  sweepInterval?: number | undefined;
  /**
   * The clock, in milliseconds since the epoch. Inject one to test expiry without sleeping.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/**
 * Create an in-memory store implementing the whole contract (CAS, touch, locks, per-user
 * index, prune, ids). Payload strings are kept as given; records are copied on the way in
 * and out, so callers cannot change stored state. Never rejects except for an aborted signal,
 * an invalid key on a write (`ERR_SESSION_INVALID_KEY`) or a malformed record (`TypeError`).
 * Throws `ConfigError` (`ERR_SESSION_CONFIG`) at once for an invalid option.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const { maxEntries = DEFAULT_MAX_ENTRIES, sweepInterval = DEFAULT_SWEEP_INTERVAL } = options;
  const now = options.now ?? Date.now;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new ConfigError('memoryStore: `maxEntries` must be a positive integer (default 10000).');
  }
  if (!Number.isFinite(sweepInterval) || sweepInterval < 0) {
    throw new ConfigError('memoryStore: `sweepInterval` must be >= 0 ms (default 60000; 0: off).');
  }
  if (typeof now !== 'function') {
    throw new ConfigError('memoryStore: `now` must be a function returning epoch milliseconds.');
  }

  // Map iteration order is insertion order: re-inserting on use keeps the LRU record first.
  const records = new Map<string, StoreRecord>();
  const byUser = new Map<string, Set<string>>();
  const locks = new Map<string, { owner: string; expiresAt: number }>();
  // The key inserted last, so already the most recently used: using it again moves nothing (a
  // delete and an append per use leave a hole each time, and the Map rehashes every few uses).
  let newest: string | undefined;

  const live = (held: { expiresAt: number } | undefined): boolean =>
    held !== undefined && held.expiresAt > now();
  /** Drop `key` from `userId`'s index entry. */
  const unindex = (key: string, userId: string | null | undefined): void => {
    if (userId == null) return;
    const keys = byUser.get(userId);
    keys?.delete(key);
    if (keys?.size === 0) byUser.delete(userId);
  };
  const remove = (key: string): void => {
    const userId = records.get(key)?.userId;
    records.delete(key);
    if (key === newest) newest = undefined;
    unindex(key, userId);
  };
  /** Store `record` under `key` as the most recently used (no index change). */
  const put = (key: string, record: StoreRecord): void => {
    if (key !== newest) records.delete(key);
    records.set(key, record);
    newest = key;
  };
  /** The live record under `key`, now the most recently used; frees an expired one. */
  const use = (key: string): StoreRecord | undefined => {
    const record = isStoreKey(key) ? records.get(key) : undefined;
    if (record === undefined || !live(record)) {
      if (record) remove(key);
      return undefined;
    }
    if (key !== newest) put(key, record);
    return record;
  };
  const sweep = (): number => {
    const before = records.size;
    for (const [key, record] of records) if (!live(record)) remove(key);
    for (const [key, lock] of locks) if (!live(lock)) locks.delete(key);
    return before - records.size;
  };
  const timer = sweepInterval > 0 ? setInterval(sweep, sweepInterval) : undefined;
  timer?.unref();

  // Every method below settles before it returns (no I/O): the manager runs its calls without
  // store deadlines, which could never end one (core/store.ts, `markInProcess`).
  return markInProcess({
    name: 'memory',
    async get(key, opts) {
      throwIfAborted(opts?.signal);
      const record = use(key);
      return record && copy(record);
    },
    async set(key, record, opts) {
      throwIfAborted(opts?.signal);
      assertStoreKey(key);
      assertStoreRecord(record);
      // Expired counts as absent: `ifVersion: 0` may create over it, `n > 0` never matches it.
      const ifVersion = opts?.ifVersion;
      const current = records.get(key);
      const alive = live(current);
      if (ifVersion !== undefined && (alive ? current!.version : 0) !== ifVersion) {
        if (current !== undefined && !alive) remove(key);
        return false;
      }
      // A replaced record leaves its user's index if the write changed the user.
      if (current !== undefined && current.userId !== record.userId) unindex(key, current.userId);
      put(key, copy(record));
      if (record.userId !== null) {
        byUser.set(record.userId, (byUser.get(record.userId) ?? new Set()).add(key));
      }
      if (records.size > maxEntries) {
        for (const oldest of records.keys()) {
          if (records.size <= maxEntries) break;
          remove(oldest);
        }
      }
      return true;
    },
    async touch(key, expiresAt, opts) {
      throwIfAborted(opts?.signal);
      const record = use(key);
      if (record === undefined) return false;
      const next = { ...record, expiresAt };
      assertStoreRecord(next);
      put(key, next);
      return true;
    },
    async delete(key, opts) {
      throwIfAborted(opts?.signal);
      const record = use(key);
      if (record === undefined || (opts?.ifVersion ?? record.version) !== record.version) {
        return false;
      }
      remove(key);
      return true;
    },
    async lock(key, { owner, ttl, signal }) {
      throwIfAborted(signal);
      assertStoreKey(key);
      assertLockOptions({ owner, ttl });
      const held = locks.get(key);
      if (live(held) && held?.owner !== owner) return false;
      locks.set(key, { owner, expiresAt: now() + ttl });
      return true;
    },
    async unlock(key, { owner, signal }) {
      throwIfAborted(signal);
      const held = isStoreKey(key) ? locks.get(key) : undefined;
      if (!live(held) || held?.owner !== owner) return false;
      return locks.delete(key);
    },
    async listByUser(userId, opts) {
      throwIfAborted(opts?.signal);
      const keys = [...(byUser.get(userId) ?? [])];
      return keys.flatMap((key) => {
        const record = records.get(key);
        return record && live(record) ? [{ key, record: copy(record) }] : [];
      });
    },
    async deleteByUser(userId, opts) {
      throwIfAborted(opts?.signal);
      const keep = new Set(opts?.except);
      const doomed = [...(byUser.get(userId) ?? [])].filter((key) => !keep.has(key));
      const deleted = doomed.filter((key) => live(records.get(key))).length;
      for (const key of doomed) remove(key);
      return deleted;
    },
    async prune(opts) {
      throwIfAborted(opts?.signal);
      return sweep();
    },
    async *ids(opts) {
      throwIfAborted(opts?.signal);
      // A snapshot of the keys: one re-ordered by use while the caller iterates is not seen twice.
      for (const key of [...records.keys()]) if (live(records.get(key))) yield key;
    },
    async close() {
      clearInterval(timer);
    },
  });
}

function copy(record: StoreRecord): StoreRecord {
  const { data, version, expiresAt, userId } = record;
  return { data, version, expiresAt, userId };
}
