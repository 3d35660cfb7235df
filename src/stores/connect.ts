/**
 * `sessionkit/stores/connect` — any express-session ("connect") store as a sessionkit store.
 *
 * For migrations: the native API and every adapter can keep an existing connect-redis,
 * connect-pg-simple, connect-mongo or `MemoryStore` while an app moves to sessionkit. Each
 * record is kept as an express-session–shaped object, `{ cookie: { originalMaxAge, expires },
 * sessionkit: { data, version, expiresAt, userId } }`, under the store key as its sid, so the
 * store's own expiry (Redis TTL, the `expire` column) applies.
 *
 * What a connect store cannot give is declared absent: no `lock` (the core refuses
 * `concurrency: 'lock'`), no per-user index (`listByUser`, `deleteByUser`: the core refuses
 * `maxSessionsPerUser`), no `prune` and no `ids`. Compare-and-set (`ifVersion`) is atomic
 * **within this process only** (`casScope: 'process'`): calls on one key are serialized per
 * wrapped store object, but another process writing the same backend is not seen between the
 * read and the write. See `docs/migrating-from-express-session.md`.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  type SessionStore,
  type StoreRecord,
  throwIfAborted,
} from '../core/store.js';
import { type ConnectSessionObject, type ConnectStoreLike, callConnect } from './_connect.js';

export type { ConnectCallback, ConnectSessionObject, ConnectStoreLike } from './_connect.js';

const DEFAULT_TIMEOUT = 5000;

/** Options of {@link connectStore}. */
export interface ConnectStoreOptions {
  /**
   * Milliseconds each call to the connect store may take; an unanswered call rejects with
   * `StoreError` (some stores never call back on a backend failure). A positive number.
   * @default 5000
   */
  timeout?: number | undefined;
  /**
   * The clock expiry is judged by, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/** A sessionkit store over a connect store; see {@link connectStore}. */
export interface ConnectSessionStore extends SessionStore {
  /** `'connect'`. */
  readonly name: 'connect';
  /**
   * How far compare-and-set is atomic: `'process'` — only among callers in this process that go
   * through the same wrapped connect store object.
   */
  readonly casScope: 'process';
  /** The wrapped connect store, unchanged. */
  readonly connect: ConnectStoreLike;
}

/**
 * Wrap an express-session store as a sessionkit {@link SessionStore}. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) when `store` lacks `get`/`set`/`destroy` or an option is invalid.
 * Calls reject with `StoreError` when the connect store reports an error (other than `ENOENT`,
 * which reads as not found) or does not answer within `timeout`.
 */
export function connectStore(
  store: ConnectStoreLike,
  options: ConnectStoreOptions = {},
): ConnectSessionStore {
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.destroy !== 'function'
  ) {
    throw new ConfigError(
      'connectStore() needs an express-session store (an object with get, set and destroy).',
    );
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new ConfigError('Option `timeout` of connectStore() must be a positive number of ms.');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new ConfigError('Option `now` of connectStore() must be a function returning ms.');
  }
  const ctx: Context = { store, timeout, now, queue: queueOf(store) };

  return {
    name: 'connect',
    casScope: 'process',
    connect: store,
    async get(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return undefined;
      return readLive(ctx, key, o?.signal);
    },
    async set(key, record, o) {
      assertStoreKey(key);
      assertStoreRecord(record);
      throwIfAborted(o?.signal);
      const ifVersion = o?.ifVersion;
      return serialize(ctx, key, async () => {
        if (ifVersion !== undefined) {
          const current = await readLive(ctx, key, o?.signal);
          if (ifVersion === 0 ? current !== undefined : current?.version !== ifVersion) {
            return false;
          }
        }
        await write(ctx, key, record, o?.signal);
        return true;
      });
    },
    async touch(key, expiresAt, o) {
      assertExpiresAt(expiresAt);
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      return serialize(ctx, key, async () => {
        const current = await readLive(ctx, key, o?.signal);
        if (current === undefined) return false;
        // A connect store's own touch may only move its TTL; the expiry inside the record must
        // move too, so touch rewrites the record.
        await write(ctx, key, { ...current, expiresAt }, o?.signal);
        return true;
      });
    },
    async delete(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      return serialize(ctx, key, async () => {
        const current = await readLive(ctx, key, o?.signal);
        if (current === undefined) return false;
        if (o?.ifVersion !== undefined && current.version !== o.ifVersion) return false;
        await callConnect('delete', (cb) => store.destroy(key, cb), call(ctx, o?.signal));
        return true;
      });
    },
  };
}

interface Context {
  store: ConnectStoreLike;
  timeout: number;
  now: () => number;
  queue: Map<string, Promise<unknown>>;
}

// Per wrapped connect store object, not per wrapper: two connectStore() calls over one store
// still serialize their compare-and-set on a key.
const QUEUES = new WeakMap<object, Map<string, Promise<unknown>>>();

function queueOf(store: object): Map<string, Promise<unknown>> {
  let queue = QUEUES.get(store);
  if (queue === undefined) {
    queue = new Map();
    QUEUES.set(store, queue);
  }
  return queue;
}

/** Run `task` after every earlier task on `key` has settled; the map never outgrows the keys in flight. */
function serialize<T>(ctx: Context, key: string, task: () => Promise<T>): Promise<T> {
  const previous = ctx.queue.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  ctx.queue.set(key, tail);
  void tail.then(() => {
    if (ctx.queue.get(key) === tail) ctx.queue.delete(key);
  });
  return run;
}

function call(ctx: Context, signal: AbortSignal | undefined) {
  return { timeout: ctx.timeout, signal };
}

async function readLive(
  ctx: Context,
  key: string,
  signal: AbortSignal | undefined,
): Promise<StoreRecord | undefined> {
  const value = await callConnect('get', (cb) => ctx.store.get(key, cb), call(ctx, signal));
  const record = fromConnect(value);
  return record !== undefined && record.expiresAt > ctx.now() ? record : undefined;
}

async function write(
  ctx: Context,
  key: string,
  record: StoreRecord,
  signal: AbortSignal | undefined,
): Promise<void> {
  await callConnect(
    'set',
    (cb) => ctx.store.set(key, toConnect(record, ctx.now()) as never, cb),
    call(ctx, signal),
  );
}

/** The express-session–shaped object a record is kept as (copies; never shares `record`). */
function toConnect(record: StoreRecord, now: number): ConnectSessionObject {
  return {
    cookie: {
      originalMaxAge: record.expiresAt - now,
      expires: new Date(record.expiresAt).toISOString(),
    },
    sessionkit: {
      data: record.data,
      version: record.version,
      expiresAt: record.expiresAt,
      userId: record.userId,
    },
  };
}

/** A record from what the connect store returned, or `undefined` when it is not one of ours. */
function fromConnect(value: unknown): StoreRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as { sessionkit?: unknown }).sessionkit;
  if (typeof inner !== 'object' || inner === null) return undefined;
  const { data, version, expiresAt, userId } = inner as Record<string, unknown>;
  if (
    typeof data !== 'string' ||
    typeof version !== 'number' ||
    !Number.isSafeInteger(version) ||
    version < 1 ||
    typeof expiresAt !== 'number' ||
    !Number.isFinite(expiresAt) ||
    !(userId === null || (typeof userId === 'string' && userId.length > 0))
  ) {
    return undefined;
  }
  return { data, version, expiresAt, userId };
}
