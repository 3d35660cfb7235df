/**
 * `sessionkit` — the store contract.
 *
 * A store keeps opaque records under opaque keys. It never looks inside a payload: encoding,
 * encryption, timeouts and merge logic live in the core. Every shipped store passes the same
 * conformance suite in sessionkit's repository, which checks each rule below.
 *
 * Rules every store follows:
 * - **Keys** are store keys produced by the core (`base64url(SHA-256(session id))`, 43 chars).
 *   A key that fails {@link isStoreKey} is hostile: reads find nothing (`undefined`, `false`),
 *   writes reject with `InvalidKeyError` (`ERR_SESSION_INVALID_KEY`). Such a key never reaches a
 *   path, a query or a backend key.
 * - **Missing is not an error.** Unknown, expired or unreadable records read as `undefined`.
 *   A record whose `expiresAt` is at or before the store's clock is expired and invisible to
 *   every method (it may still occupy space until pruned).
 * - **Only a failing backend rejects**, with a `StoreError` (`ERR_SESSION_STORE`) whose `cause`
 *   is the backend's error.
 * - **Versions** are chosen by the core. A store persists `record.version` as given and compares
 *   it for conditional writes (`ifVersion`); it never invents one.
 * - **Optional abilities** (`lock`, `prune`, `ids`, `listByUser`, `deleteByUser`, `close`) are
 *   detected with `typeof store.x === 'function'`.
 * - Every method takes an options bag with an optional `signal`; a store passes it to its client
 *   where the client supports cancellation, and otherwise checks it before starting. The
 *   manager's deadline signal is shared by the calls that started in the same short window and
 *   is aborted only once their deadline passed: a store that listens for `abort` removes its
 *   listener when its call settles.
 */

import { InvalidKeyError, SessionError, StoreError } from './errors.js';

/** Options accepted by every store call. */
export interface StoreCallOptions {
  /** Abort the call. A store rejects with the signal's reason if it is already aborted. */
  signal?: AbortSignal | undefined;
}

/** One stored session. */
export interface StoreRecord {
  /** The encoded session: opaque to the store, at most a few hundred KiB, any Unicode. */
  data: string;
  /** Positive integer chosen by the core; bumped on every data write. */
  version: number;
  /** Absolute expiry, milliseconds since the epoch. */
  expiresAt: number;
  /** The user this session belongs to (non-empty), for the per-user index; `null` when anonymous. */
  userId: string | null;
}

/** Options of {@link SessionStore.set}. */
export interface StoreSetOptions extends StoreCallOptions {
  /**
   * Compare-and-set precondition.
   * - `undefined`: write unconditionally (create or replace).
   * - `0`: create only — fail if a live (unexpired) record exists under the key.
   * - `n > 0`: replace only if a live record exists whose version is exactly `n`.
   */
  ifVersion?: number | undefined;
}

/** Options of {@link SessionStore.delete}. */
export interface StoreDeleteOptions extends StoreCallOptions {
  /** Delete only if the live record's version is exactly this. */
  ifVersion?: number | undefined;
}

/** Options of {@link SessionStore.lock}. */
export interface StoreLockOptions extends StoreCallOptions {
  /** Random token identifying the holder; only the holder can release the lock. */
  owner: string;
  /** Lease length in milliseconds; the lock frees itself after this. */
  ttl: number;
}

/** Options of {@link SessionStore.unlock}. */
export interface StoreUnlockOptions extends StoreCallOptions {
  /** The token given to `lock`. */
  owner: string;
}

/** Options of {@link SessionStore.deleteByUser}. */
export interface StoreDeleteByUserOptions extends StoreCallOptions {
  /** Store keys to keep (e.g. the current session). */
  except?: readonly string[] | undefined;
}

/** How far a {@link SessionStore.prune} has got, for progress displays. */
export interface PruneProgress {
  /** Expired records removed so far. */
  removed: number;
  /** Expired records found when the prune started, when the store can count them up front. */
  total?: number | undefined;
}

/** Options of {@link SessionStore.prune}. */
export interface StorePruneOptions extends StoreCallOptions {
  /**
   * Most records one statement deletes, for stores that prune in batches (the SQL stores), so
   * that no statement holds its locks for long while the application keeps serving.
   * @default 1000
   */
  batchSize?: number | undefined;
  /** Called after each batch (stores that prune in one step: not at all). Must not throw. */
  onProgress?: ((progress: PruneProgress) => void) | undefined;
}

/** One entry of {@link SessionStore.listByUser}. */
export interface StoreEntry {
  /** The store key (an opaque handle, safe to show to the owner). */
  key: string;
  /** The record. */
  record: StoreRecord;
}

/**
 * The contract between the core and a storage backend.
 *
 * Required: `get`, `set`, `touch`, `delete`. Everything else is optional and detected at run
 * time; the core degrades (or refuses, with a `ConfigError`) when a feature needs an ability the
 * store lacks.
 */
export interface SessionStore {
  /** Short backend name for events and errors (`'memory'`, `'redis'`, …). */
  readonly name: string;

  /**
   * Read a live record. Resolves `undefined` when the key is unknown, expired, invalid or the
   * stored bytes are unreadable. Rejects only with `StoreError`.
   */
  get(key: string, options?: StoreCallOptions): Promise<StoreRecord | undefined>;

  /**
   * Write a record, optionally as a compare-and-set (see {@link StoreSetOptions.ifVersion}).
   * Resolves `true` when written, `false` when the precondition failed (nothing changed).
   * The check and the write are atomic, also across processes sharing the backend.
   * Rejects with `InvalidKeyError` for an invalid key, `StoreError` for a failing backend.
   */
  set(key: string, record: StoreRecord, options?: StoreSetOptions): Promise<boolean>;

  /**
   * Move a live record's expiry to `expiresAt` without rewriting its data or version.
   * Resolves `true` when a live record was updated, `false` when there is none (a missing
   * record is never created by `touch`).
   */
  touch(key: string, expiresAt: number, options?: StoreCallOptions): Promise<boolean>;

  /**
   * Delete a record (and its per-user index entry). Resolves `true` when a live record was
   * removed, `false` when there was none or `ifVersion` did not match. Deleting a missing key
   * resolves `false`, never rejects.
   */
  delete(key: string, options?: StoreDeleteOptions): Promise<boolean>;

  /**
   * Acquire a lease lock on `key` (the key need not hold a record). Resolves `true` when
   * acquired (free, expired or already held by `owner`, in which case the lease is renewed),
   * `false` when another live owner holds it. Never waits: the core does the bounded retrying.
   */
  lock?(key: string, options: StoreLockOptions): Promise<boolean>;

  /**
   * Release a lock held by `owner`. Resolves `false` (and changes nothing) for another owner, and
   * for `owner`'s own lock once its lease has lapsed (someone else may hold it by then). Invalid
   * keys resolve `false`; `lock` rejects them with `ERR_SESSION_INVALID_KEY`. An empty owner or a
   * non-positive / non-finite `ttl` rejects with `TypeError` (see {@link assertLockOptions}).
   */
  unlock?(key: string, options: StoreUnlockOptions): Promise<boolean>;

  /** Live records of one user, in no particular order. */
  listByUser?(userId: string, options?: StoreCallOptions): Promise<StoreEntry[]>;

  /** Delete every record of one user except `except`. Resolves how many live records were deleted. */
  deleteByUser?(userId: string, options?: StoreDeleteByUserOptions): Promise<number>;

  /**
   * Delete expired records (and dangling index entries, expired lock rows). Resolves how many
   * records went. Safe while the application serves: SQL stores delete in batches.
   */
  prune?(options?: StorePruneOptions): Promise<number>;

  /** Every live key, streamed. */
  ids?(options?: StoreCallOptions): AsyncIterable<string>;

  /** Release what the store itself created (timers, statements). Never closes a client it was given. */
  close?(): Promise<void>;
}

/** The pattern every store key matches: 16–128 base64url characters. */
export const STORE_KEY_PATTERN: RegExp = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * `true` when `key` may be used as a store key. Stores call this first in every method, so a
 * hostile value (path traversal, SQL or Redis metacharacters, NUL, unicode, huge) never reaches
 * a path, query or backend key.
 */
export function isStoreKey(key: unknown): key is string {
  // A request passes the same key to each of its store calls (read, write, touch, unlock): the
  // last key that passed is not matched against the pattern again.
  if (key === lastStoreKey) return true;
  if (typeof key !== 'string' || !STORE_KEY_PATTERN.test(key)) return false;
  lastStoreKey = key;
  return true;
}

/** The last key {@link isStoreKey} accepted (a valid key: never the empty string). */
let lastStoreKey = '';

/**
 * Throw `InvalidKeyError` (`ERR_SESSION_INVALID_KEY`) unless `key` is a valid store key.
 * For store authors: call it at the top of every write.
 */
export function assertStoreKey(key: unknown): asserts key is string {
  if (!isStoreKey(key)) throw new InvalidKeyError();
}

/** The store objects made by sessionkit whose every call settles before it returns. */
const IN_PROCESS = new WeakSet<SessionStore>();

/**
 * Mark `store` — this very object, not a copy or a proxy of it — as in-process: each of its
 * methods does its work before returning a settled promise (no I/O, no waiting on anything), so
 * no deadline could ever end one of its calls, and the manager runs them without the
 * `storeTimeout` machinery (`gateway.ts`). A wrapper around such a store (a spread copy, a
 * `Proxy`) is a different object and gets deadlines again, as it may add waiting of its own.
 * For sessionkit's own synchronous stores (memory). @internal
 */
export function markInProcess<S extends SessionStore>(store: S): S {
  IN_PROCESS.add(store);
  return store;
}

/** `true` for a store object {@link markInProcess} marked. @internal */
export function isInProcess(store: SessionStore): boolean {
  return IN_PROCESS.has(store);
}

/**
 * `true` when `value` has the required methods of a {@link SessionStore} (`get`, `set`, `touch`,
 * `delete`), for stores that take another store as an option. Never throws.
 */
export function isSessionStore(value: unknown): value is SessionStore {
  const s = value as Partial<SessionStore> | null | undefined;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.get === 'function' &&
    typeof s.set === 'function' &&
    typeof s.touch === 'function' &&
    typeof s.delete === 'function'
  );
}

/**
 * Reject with the signal's reason when it is already aborted. For store authors whose client
 * cannot take a signal: call it before starting backend work.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('The operation was aborted.');
}

/** What a store's `get` resolves for a key that cannot name a record: settled, shared. @internal */
export const NO_RECORD: Promise<undefined> = Promise.resolve(undefined);

/**
 * The checks a store method makes before any I/O — `signal` not aborted and, when given, `key` a
 * store key and `record` well-formed — as a rejected promise rather than a throw, or `undefined`
 * when they pass: for a hot method written as a promise chain (no async frame) that must still
 * reject, never throw. @internal
 */
export function refusal(
  signal: AbortSignal | undefined,
  key?: string,
  record?: StoreRecord,
): Promise<never> | undefined {
  try {
    throwIfAborted(signal);
    if (key !== undefined) assertStoreKey(key);
    if (record !== undefined) assertStoreRecord(record);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Wrap a backend failure in a `StoreError` (`ERR_SESSION_STORE`) naming the store and the
 * operation. The original error is kept as `cause`; the message never includes it (it may hold
 * keys or connection strings). Session errors and aborts pass through unchanged.
 */
export function toStoreError(
  store: string,
  operation: string,
  error: unknown,
  signal?: AbortSignal,
): Error {
  if (error instanceof SessionError) return error;
  if (signal?.aborted && error === signal.reason) return error as Error;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return error;
  }
  return new StoreError(`The ${store} session store failed during ${operation}.`, {
    cause: error,
  });
}

/**
 * Validate a record before writing it: a string payload, a positive integer version, a finite
 * expiry and a string-or-null user id. Throws `TypeError` on a malformed record (a core bug).
 */
export function assertStoreRecord(record: StoreRecord): void {
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.data !== 'string' ||
    !Number.isSafeInteger(record.version) ||
    record.version < 1 ||
    !Number.isFinite(record.expiresAt) ||
    (record.userId !== null && (typeof record.userId !== 'string' || record.userId.length === 0))
  ) {
    throw new TypeError('Malformed session store record.');
  }
}

/**
 * Validate lease-lock options: a non-empty `owner` and a positive, finite `ttl` in ms. Throws
 * `TypeError` otherwise (a NaN ttl would otherwise make a lock that never expires).
 */
export function assertLockOptions(
  options: { owner: unknown; ttl?: unknown },
  withTtl = true,
): void {
  if (typeof options?.owner !== 'string' || options.owner.length === 0) {
    throw new TypeError('A session lock needs a non-empty owner token.');
  }
  if (
    withTtl &&
    (typeof options.ttl !== 'number' || !Number.isFinite(options.ttl) || options.ttl <= 0)
  ) {
    throw new TypeError('A session lock needs a positive, finite ttl in milliseconds.');
  }
}

/** Validate an expiry given to `touch`: a finite number of ms. Throws `TypeError` otherwise. */
export function assertExpiresAt(expiresAt: unknown): void {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new TypeError('A session expiry must be a finite number of milliseconds.');
  }
}
