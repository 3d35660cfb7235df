/**
 * `sessionkit` — the session manager: load → use → commit, shared by every adapter.
 *
 * Adapters hand the manager a neutral request (`Cookie` header, client ip and user agent) and
 * get back a session plus an `end()` that commits and returns what to put on the response
 * (`Set-Cookie` values, `Vary: Cookie`, `Cache-Control`). All lifecycle logic lives here once.
 */

import { randomBytes } from 'node:crypto';
import {
  type CodecLimits,
  decodePayload,
  decodeRedirect,
  emptyObject,
  encodePayload,
  encodeRedirect,
  getAt,
  type SessionMeta,
  type SessionPayload,
  sealPayload,
  unsealPayload,
} from './codec.js';
import { type CookieOptions, readCookie, resolveCookieOptions, serializeCookie } from './cookie.js';
import {
  ConfigError,
  ConflictError,
  type ConflictReason,
  type CsrfFailureReason,
  isSessionError,
  LockTimeoutError,
  SessionLimitError,
  StoreError,
} from './errors.js';
import {
  createKeyRing,
  generateCsrfSecret,
  generateSessionId,
  hashSessionId,
  isSessionId,
  type KeyRing,
  type SecretsOption,
  timingSafeEqualString,
} from './keys.js';
import {
  applyOps,
  createSessionState,
  fingerprint,
  pathsOverlap,
  type Session,
  type SessionEngine,
  SessionImpl,
  type SessionOp,
  type SessionState,
  writtenPaths,
} from './session.js';
import type { SessionStore, StoreRecord } from './store.js';
import type { DefaultData, DefaultFlash } from './types.js';

/** How concurrent requests on one session are reconciled. */
export type ConcurrencyMode = 'merge' | 'lock' | 'none';

/** Options of fingerprint binding. */
export interface FingerprintOptions {
  /**
   * Compare the client IP.
   * @default false
   */
  ip?: boolean;
  /**
   * Compare the User-Agent header.
   * @default true
   */
  userAgent?: boolean;
  /**
   * What a mismatch does.
   * @default 'flag'
   */
  policy?: 'flag' | 'destroy';
}

/** Options of the lock mode. */
export interface LockOptions {
  /**
   * Lease length of a session lock, in ms; a crashed holder's lock frees itself after this.
   * @default 30_000
   */
  ttl?: number;
  /**
   * Longest wait for a lock before failing with `ERR_SESSION_LOCK_TIMEOUT` (503), in ms.
   * @default 5_000
   */
  wait?: number;
}

/** Options of {@link createSessionManager}. */
export interface SessionManagerOptions {
  /** Where sessions live. */
  store: SessionStore;
  /**
   * Secrets for signing cookies: 32+ bytes each, the first is the primary, the others only
   * verify (key rotation). Weak or demo values are refused.
   */
  secrets: SecretsOption;
  /** Cookie attributes. Secure defaults; `{ secure: false }` is the explicit plain-http dev mode. */
  cookie?: CookieOptions;
  /**
   * Idle timeout in ms: a session unused this long is gone.
   * @default 1_800_000 (30 minutes)
   */
  idleTimeout?: number;
  /**
   * Absolute timeout in ms from creation; activity never extends it.
   * @default 43_200_000 (12 hours)
   */
  absoluteTimeout?: number;
  /**
   * An unmodified session's expiry is refreshed (one `touch`) at most this often, in ms.
   * @default 60_000
   */
  touchInterval?: number;
  /**
   * New sessions get a persistent ("remember me") cookie with Max-Age instead of a
   * browser-session cookie. Per session: `session.setPersistent()` / `login(id, { persistent })`.
   * @default false
   */
  persistent?: boolean;
  /**
   * Concurrency mode: `merge` (optimistic CAS + replay), `lock` (per-session lease lock; needs a
   * store with `lock`), `none` (last writer wins).
   * @default 'merge'
   */
  concurrency?: ConcurrencyMode;
  /**
   * How many times a commit reloads and re-applies after losing a compare-and-set.
   * @default 20
   */
  maxRetries?: number;
  /** Lock mode settings. */
  lock?: LockOptions;
  /**
   * Bind sessions to the client's ip and/or user agent (defense in depth; both are spoofable or
   * change legitimately — mobile networks, browser updates). Compared as keyed hashes in constant
   * time against the values recorded at creation / login. `flag` sets `session.flagged`;
   * `destroy` deletes the session and treats the request as anonymous. Either emits
   * `fingerprint-mismatch`. The ip comes from the adapter (its trust-proxy setting).
   * @default undefined (off)
   */
  fingerprint?: FingerprintOptions;
  /**
   * Most live sessions one user may have (needs a store with `listByUser`). When a login would
   * exceed it, `sessionLimit` decides.
   * @default undefined (no limit)
   */
  maxSessionsPerUser?: number;
  /**
   * `evict-oldest`: the login succeeds and the least recently used other sessions are revoked;
   * `reject`: the login fails with `SessionLimitError` (`ERR_SESSION_LIMIT`, 403).
   * @default 'evict-oldest'
   */
  sessionLimit?: 'evict-oldest' | 'reject';
  /**
   * After `regenerate()`, the old id keeps resolving (read-only) to the new session for this many
   * ms, so a flaky client's retry with the old cookie is not logged out. Writes through the old
   * id fail with a `destroyed` conflict. `0` deletes the old record at once.
   * @default 0
   */
  regenerateGrace?: number;
  /**
   * Encrypt every payload at rest with AES-256-GCM under the `secrets` key ring (a per-purpose
   * HKDF subkey), bound to the record's store key. Records that fail to decrypt are treated as
   * absent (event `decrypt-failure`), never overwritten blindly. Turning this on for existing
   * plaintext records: run `manager.reseal({ plaintext: true })` once.
   * @default false
   */
  encrypt?: boolean;
  /**
   * Deadline for every store call, in ms; a call that takes longer fails with `StoreError`
   * (503) and its `signal` is aborted. `0` disables the deadline.
   * @default 5_000
   */
  storeTimeout?: number;
  /**
   * Largest encoded session, in bytes.
   * @default 131_072
   */
  maxPayloadBytes?: number;
  /**
   * Deepest nesting of session data.
   * @default 32
   */
  maxDepth?: number;
  /**
   * `Cache-Control` for responses that read or set a session; `false` leaves it alone.
   * @default 'private, no-store'
   */
  cacheControl?: string | false;
  /** Receives lifecycle events. Must not throw (errors are swallowed). */
  onEvent?: (event: SessionEvent) => void;
  /**
   * Clock, in ms since the epoch (inject for tests).
   * @default Date.now
   */
  now?: () => number;
  /**
   * Session id generator (inject for tests); must return 43 base64url characters.
   * @default generateSessionId
   */
  generateId?: () => string;
}

/** A lifecycle event. `handle` is a truncated store key: never a raw id. */
export type SessionEvent =
  | { type: 'create'; handle: string; userId: string | null }
  | { type: 'regenerate'; handle: string; previous: string }
  | { type: 'destroy'; handle: string }
  | { type: 'expire'; handle: string; reason: 'idle' | 'absolute' }
  | { type: 'invalid-cookie'; reason: 'malformed' | 'signature' }
  | { type: 'unknown-id'; handle: string }
  | { type: 'corrupt'; handle: string }
  | { type: 'decrypt-failure'; handle: string }
  | { type: 'touch'; handle: string }
  | { type: 'commit'; handle: string; attempts: number }
  | { type: 'conflict'; handle: string; reason: ConflictReason }
  | { type: 'lock-timeout'; handle: string }
  | { type: 'store-error'; operation: string; code: string }
  | { type: 'revoke'; handle: string; userId: string }
  | { type: 'evict'; handle: string; userId: string }
  | { type: 'fingerprint-mismatch'; handle: string; policy: 'flag' | 'destroy' }
  | { type: 'csrf-failure'; reason: CsrfFailureReason; method: string };

/** What an adapter knows about the request. */
export interface SessionRequest {
  /** The `Cookie` header (string or array of header lines). */
  cookie?: string | readonly string[] | undefined;
  /**
   * Client IP as the adapter determined it (honouring its trust-proxy setting) — or a function
   * returning it, called only if the session needs it (creation, login, fingerprint), so an
   * untouched request never pays for parsing forwarding headers.
   */
  ip?: string | (() => string | undefined) | undefined;
  /** The `User-Agent` header. */
  userAgent?: string | undefined;
  /** Concurrency mode for this request (per-route override). */
  concurrency?: ConcurrencyMode | undefined;
}

/** What an adapter puts on the response after {@link SessionScope.end}. */
export interface SessionResponse {
  /** `Set-Cookie` values to append. */
  setCookie: string[];
  /** Add `Cookie` to `Vary`. */
  vary: boolean;
  /** Value for `Cache-Control`, or `undefined` to leave it alone. */
  cacheControl: string | undefined;
}

/** One request's session plus its end-of-request hook, for adapters. */
export interface SessionScope<D extends object, F extends object> {
  readonly session: Session<D, F>;
  /**
   * Commit and compute the response headers. Call it before the first header byte. Rejects with
   * a `SessionError` (409 conflict, 503 store outage or lock timeout, 500 misuse); the adapter
   * then sends an error response without the session's cookies. Releases any lock.
   */
  end(): Promise<SessionResponse>;
  /** Give up without committing (releases any lock). */
  abort(): Promise<void>;
  /**
   * `false` while the request has neither read nor written its session (nor destroyed or
   * regenerated it): `end()` would then do nothing and return no headers, so an adapter may send
   * the response at once.
   */
  readonly touched: boolean;
  /**
   * Call `listener` once, synchronously, when the request first reads or writes its session (at
   * once if it already did). Adapters without an async pre-header hook hold the response only
   * from then on, so untouched requests cost nothing.
   */
  onTouch(listener: () => void): void;
}

/** One entry of the "your devices" list. */
export interface SessionInfo {
  /** Opaque handle of the session (its store key); pass it to `revokeSession`. */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  /** When it expires if unused (idle) — never after `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
  /** `true` for the handle given as `current`. */
  current: boolean;
}

/** The session manager. */
export interface SessionManager<D extends object = DefaultData, F extends object = DefaultFlash> {
  /** The store in use. */
  readonly store: SessionStore;
  /** Resolved cookie name. */
  readonly cookieName: string;
  /** Start a request's session. No I/O and no crypto happen until the session is used. */
  begin(request: SessionRequest): SessionScope<D, F>;
  /** Live sessions of a user (needs a store with `listByUser`), newest activity first. */
  listSessions(userId: string, options?: { current?: string | undefined }): Promise<SessionInfo[]>;
  /** Revoke one of `userId`'s sessions. Resolves `false` when the handle is not theirs or gone. */
  revokeSession(userId: string, handle: string): Promise<boolean>;
  /** Revoke all of a user's sessions except the given handles. Resolves how many went. */
  revokeAll(userId: string, options?: { except?: readonly string[] }): Promise<number>;
  /**
   * Hand `event` to the `onEvent` listener (errors it throws are swallowed). For integrations
   * that detect events outside the session lifecycle, such as the CSRF check.
   */
  emit(event: SessionEvent): void;
  /**
   * Re-encrypt every stored record with the primary key — run it after adding a new primary
   * secret, before removing the old one — or, with `plaintext: true`, encrypt records written
   * before `encrypt` was turned on. Each record is rewritten with a compare-and-set, so a request
   * committing at the same moment wins (and writes under the primary anyway). Needs `encrypt`
   * and a store with `ids`; throws `ERR_SESSION_CONFIG` otherwise.
   */
  reseal(options?: ResealOptions): Promise<ResealResult>;
}

/** Options of {@link SessionManager.reseal}. */
export interface ResealOptions {
  /**
   * Also encrypt records stored as plaintext (migrating to `encrypt: true`).
   * @default false
   */
  plaintext?: boolean;
  /** Stop early. */
  signal?: AbortSignal;
  /** Called after each record with the number scanned so far. */
  onProgress?: (scanned: number) => void;
}

/** What {@link SessionManager.reseal} did. */
export interface ResealResult {
  scanned: number;
  /** Rewritten under the primary key. */
  resealed: number;
  /** Already under the primary key, gone, or rewritten concurrently. */
  skipped: number;
  /** Neither decryptable with any key in the ring nor accepted plaintext: left untouched. */
  unreadable: number;
}

interface Config {
  store: SessionStore;
  keys: KeyRing;
  cookie: ReturnType<typeof resolveCookieOptions>;
  idle: number;
  absolute: number;
  touchInterval: number;
  persistent: boolean;
  mode: ConcurrencyMode;
  maxRetries: number;
  lockTtl: number;
  lockWait: number;
  storeTimeout: number;
  encrypt: boolean;
  fingerprint: { ip: boolean; userAgent: boolean; policy: 'flag' | 'destroy' } | undefined;
  maxSessionsPerUser: number | undefined;
  sessionLimit: 'evict-oldest' | 'reject';
  grace: number;
  limits: CodecLimits;
  cacheControl: string | undefined;
  onEvent: ((event: SessionEvent) => void) | undefined;
  now: () => number;
  generateId: () => string;
}

/**
 * Create a session manager. Validates every option eagerly and throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) naming the option and the fix.
 */
export function createSessionManager<
  D extends object = DefaultData,
  F extends object = DefaultFlash,
>(options: SessionManagerOptions): SessionManager<D, F> {
  const config = resolveOptions(options);
  const engine = createEngine(config);
  const { store } = config;
  const requireAbility = (name: 'listByUser' | 'deleteByUser'): void => {
    if (typeof store[name] !== 'function') {
      throw new ConfigError(
        `The ${store.name} store has no \`${name}\`; per-user features need it.`,
      );
    }
  };
  return {
    store,
    cookieName: config.cookie.name,
    begin(request) {
      const values = readCookie(request.cookie, config.cookie.name);
      const client = clientOf(request);
      const state = createSessionState(values, client);
      const mode = request.concurrency ?? config.mode;
      if (mode === 'lock' && typeof store.lock !== 'function') {
        throw new ConfigError(
          `Concurrency mode "lock" needs a store with \`lock\`; ${store.name} has none.`,
        );
      }
      return new Scope<D, F>(state, engine, mode);
    },
    async listSessions(userId, opts = {}) {
      requireAbility('listByUser');
      const now = config.now();
      const entries = await engine.guard('listByUser', (o) => store.listByUser!(userId, o));
      const out: SessionInfo[] = [];
      for (const { key, record } of entries) {
        const info = engine.infoOf(key, record, userId, now);
        if (info !== undefined) out.push({ ...info, current: key === opts.current });
      }
      return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
    async revokeSession(userId, handle) {
      requireAbility('listByUser');
      const record = await engine.guard('get', (o) => store.get(handle, o));
      if (record === undefined || record.userId !== userId) return false; // ownership check
      const deleted = await engine.guard('delete', (o) => store.delete(handle, o));
      if (deleted) config.onEvent?.({ type: 'revoke', handle: short(handle), userId });
      return deleted;
    },
    async reseal(opts = {}) {
      if (!config.encrypt)
        throw new ConfigError('reseal() needs the manager option `encrypt: true`.');
      if (typeof store.ids !== 'function') {
        throw new ConfigError(`reseal() needs a store with \`ids\`; ${store.name} has none.`);
      }
      const result: ResealResult = { scanned: 0, resealed: 0, skipped: 0, unreadable: 0 };
      const primary = config.keys.ids[0];
      for await (const key of store.ids({ signal: opts.signal })) {
        result.scanned++;
        const record = await engine.guard('get', (o) => store.get(key, o));
        const opened = record && unsealPayload(record.data, config.keys, key);
        let text: string | undefined;
        if (record === undefined || opened?.keyId === primary) result.skipped++;
        else if (opened !== undefined) text = opened.text;
        else if (opts.plaintext && decodePayload(record.data, config.limits)) text = record.data;
        else result.unreadable++;
        if (record !== undefined && text !== undefined) {
          const next = {
            ...record,
            data: sealPayload(text, config.keys, key),
            version: record.version + 1,
          };
          const ok = await engine.guard('set', (o) =>
            store.set(key, next, { ...o, ifVersion: record.version }),
          );
          if (ok) result.resealed++;
          else result.skipped++;
        }
        opts.onProgress?.(result.scanned);
      }
      return result;
    },
    async revokeAll(userId, opts = {}) {
      requireAbility('deleteByUser');
      const count = await engine.guard('deleteByUser', (o) =>
        store.deleteByUser!(userId, { ...o, except: opts.except }),
      );
      if (count > 0) config.onEvent?.({ type: 'revoke', handle: '*', userId });
      return count;
    },
    emit: (event) => engine.emit(event),
  };
}

type Engine = ReturnType<typeof createEngine>;

/** One request's scope: a class rather than a closure bag, since one is made per request. */
class Scope<D extends object, F extends object> implements SessionScope<D, F> {
  readonly session: Session<D, F>;
  readonly #state: SessionState;
  readonly #engine: Engine;
  readonly #mode: ConcurrencyMode;

  constructor(state: SessionState, engine: Engine, mode: ConcurrencyMode) {
    this.#state = state;
    this.#engine = engine;
    this.#mode = mode;
    this.session = new SessionImpl<D, F>(state, engine.forMode(mode));
  }

  end(): Promise<SessionResponse> {
    return this.#engine.end(this.#state, this.#mode);
  }

  abort(): Promise<void> {
    return this.#engine.release(this.#state);
  }

  get touched(): boolean {
    return this.#state.accessed;
  }

  onTouch(listener: () => void): void {
    if (this.#state.accessed) listener();
    else this.#state.onAccess = listener;
  }
}

function createEngine(config: Config) {
  const { store, limits, now } = config;
  const queues = new Map<string, Promise<unknown>>();
  // Lock mode: this process's waiters per store key, and each holder's "my turn is over".
  const lockTurns = new Map<string, Promise<void>>();
  const turns = new WeakMap<SessionState, () => void>();

  const emit = (event: SessionEvent): void => {
    try {
      config.onEvent?.(event);
    } catch {
      // Listeners must not break requests.
    }
  };

  // Every store call runs under a deadline: a backend that hangs (an offline queue, a dead TCP
  // peer) becomes a StoreError — a 503 — instead of a request that never ends.
  async function guard<T>(
    operation: string,
    fn: (options: { signal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const controller = config.storeTimeout > 0 ? new AbortController() : undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = fn(controller === undefined ? {} : { signal: controller.signal });
      if (controller === undefined) return await work;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new StoreError(
            `The ${store.name} session store did not answer ${operation} within ${config.storeTimeout} ms.`,
          );
          controller.abort(error);
          reject(error);
        }, config.storeTimeout);
      });
      return await Promise.race([work, deadline]);
    } catch (error) {
      const wrapped = isSessionError(error)
        ? error
        : new StoreError(`The ${store.name} session store failed during ${operation}.`, {
            cause: error,
          });
      if (isSessionError(wrapped, 'ERR_SESSION_STORE')) {
        emit({ type: 'store-error', operation, code: wrapped.code });
      }
      throw wrapped;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  // Commits to one key run one at a time in this process, so CAS conflicts only come from
  // other processes; the CAS path below stays correct without this queue.
  function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  }

  function fresh(client: SessionState['client']): SessionPayload {
    const t = now();
    return {
      data: emptyObject(),
      flash: emptyObject(),
      meta: {
        createdAt: t,
        lastSeenAt: t,
        absoluteExpiresAt: t + config.absolute,
        userId: null,
        ip: client.ip,
        userAgent: client.userAgent,
        persistent: config.persistent,
        csrf: null,
      },
    };
  }

  function verifyCookie(values: readonly string[]): { id: string; stale: boolean } | null {
    let sawMalformed = false;
    for (const value of values) {
      const dot = value.indexOf('.');
      const id = value.slice(0, dot);
      const signature = value.slice(dot + 1);
      if (dot !== 43 || !isSessionId(id) || signature.length !== 43) {
        sawMalformed = true;
        continue;
      }
      const index = config.keys.verifyIndex('cookie-sign', id, signature);
      if (index !== -1) return { id, stale: index > 0 };
      emit({ type: 'invalid-cookie', reason: 'signature' });
    }
    if (sawMalformed) emit({ type: 'invalid-cookie', reason: 'malformed' });
    return null;
  }

  /** Decrypt (when enabled) a record's data; `undefined` — with an event — when it fails. */
  function unseal(key: string, record: StoreRecord): string | undefined {
    if (!config.encrypt) return record.data;
    const text = unsealPayload(record.data, config.keys, key)?.text;
    if (text === undefined) emit({ type: 'decrypt-failure', handle: short(key) });
    return text;
  }

  /** Decrypt (when enabled) and decode a record; `undefined` — with an event — when unreadable. */
  function open(key: string, record: StoreRecord): SessionPayload | undefined {
    return decodeOpened(key, unseal(key, record));
  }

  /** Decode a record's decrypted text (`undefined`: decryption already failed and was reported). */
  function decodeOpened(key: string, text: string | undefined): SessionPayload | undefined {
    if (text === undefined) return undefined;
    const payload = decodePayload(text, limits);
    if (payload === undefined && decodeRedirect(text) === undefined) {
      emit({ type: 'corrupt', handle: short(key) });
    }
    return payload;
  }

  /** The "your devices" view of a live record of `userId`, or `undefined`. */
  function infoOf(
    key: string,
    record: StoreRecord,
    userId: string,
    t: number,
  ): Omit<SessionInfo, 'current'> | undefined {
    const payload = open(key, record);
    if (payload === undefined || payload.meta.userId !== userId) return undefined;
    const m = payload.meta;
    if (record.expiresAt <= t || m.absoluteExpiresAt <= t) return undefined;
    return {
      handle: key,
      createdAt: m.createdAt,
      lastSeenAt: Math.max(m.lastSeenAt, Math.min(t, record.expiresAt - config.idle)),
      expiresAt: record.expiresAt,
      absoluteExpiresAt: m.absoluteExpiresAt,
      ip: m.ip,
      userAgent: m.userAgent,
      persistent: m.persistent,
    };
  }

  /**
   * Enforce `maxSessionsPerUser` for a session about to belong to `userId` (`current` is its key
   * once written). `reject` checks before the write, `evict-oldest` trims after it.
   */
  async function enforceLimit(
    userId: string,
    current: string | null,
    phase: 'before' | 'after',
  ): Promise<void> {
    const max = config.maxSessionsPerUser;
    if (max === undefined || (config.sessionLimit === 'reject') !== (phase === 'before')) return;
    const t = now();
    const entries = await guard('listByUser', (o) => store.listByUser!(userId, o));
    const others = entries
      .filter(({ key }) => key !== current)
      .map(({ key, record }) => infoOf(key, record, userId, t))
      .filter((info) => info !== undefined)
      .sort((a, b) => a.lastSeenAt - b.lastSeenAt);
    if (phase === 'before') {
      if (others.length >= max) throw new SessionLimitError(max);
      return;
    }
    for (const victim of others.slice(0, Math.max(0, others.length + 1 - max))) {
      if (await guard('delete', (o) => store.delete(victim.handle, o))) {
        emit({ type: 'evict', handle: short(victim.handle), userId });
      }
    }
  }

  /** `true` when the request's client matches what the session recorded (keyed hashes, constant time). */
  function fingerprintMatches(meta: SessionMeta, client: SessionState['client']): boolean {
    const fp = config.fingerprint;
    if (fp === undefined) return true;
    const same = (recorded: string | null, seen: string | null): boolean =>
      recorded === null ||
      timingSafeEqualString(
        config.keys.sign('fingerprint', recorded),
        config.keys.sign('fingerprint', seen ?? ''),
      );
    return (
      (!fp.ip || same(meta.ip, client.ip)) &&
      (!fp.userAgent || same(meta.userAgent, client.userAgent))
    );
  }

  /** Encode (and seal, when enabled) a payload for storage under `key`. */
  function seal(key: string, payload: SessionPayload): string {
    const text = encodePayload(payload, limits);
    return config.encrypt ? sealPayload(text, config.keys, key) : text;
  }

  /** Read and validate the record under `id`; `undefined` when absent, corrupt or expired. */
  async function read(
    id: string,
  ): Promise<{ record: StoreRecord; payload: SessionPayload; forwarded?: true } | undefined> {
    const key = hashSessionId(id);
    let record = await guard('get', (o) => store.get(key, o));
    if (record === undefined) {
      emit({ type: 'unknown-id', handle: short(key) });
      return undefined;
    }
    let payloadKey = key;
    let forwarded = false;
    // With a grace period a record may be a forward; decrypt once and reuse the text below.
    const checked = config.grace > 0;
    let text = checked ? unseal(key, record) : undefined;
    const target = text === undefined ? undefined : decodeRedirect(text);
    if (target !== undefined) {
      // Regenerate grace: the old id forwards, read-only, to the new record — until it expires.
      if (record.expiresAt <= now()) return undefined;
      record = await guard('get', (o) => store.get(target, o));
      if (record === undefined) return undefined;
      payloadKey = target;
      forwarded = true;
      text = unseal(target, record);
    }
    const payload = checked ? decodeOpened(payloadKey, text) : open(payloadKey, record);
    if (payload === undefined) return undefined;
    const t = now();
    if (payload.meta.absoluteExpiresAt <= t || record.expiresAt <= t) {
      const reason = payload.meta.absoluteExpiresAt <= t ? 'absolute' : 'idle';
      emit({ type: 'expire', handle: short(key), reason });
      return undefined;
    }
    return forwarded ? { record, payload, forwarded: true } : { record, payload };
  }

  async function acquireLock(s: SessionState, key: string): Promise<void> {
    const owner = randomBytes(16).toString('base64url');
    const started = now();
    const deadline = Date.now() + config.lockWait;
    const timeout = (): LockTimeoutError => {
      emit({ type: 'lock-timeout', handle: short(key) });
      return new LockTimeoutError(Math.max(0, now() - started), Math.ceil(config.lockWait / 1000));
    };
    // Waiters in this process queue here, and only the head polls the store: N requests for one
    // session cost the store O(N) lock calls instead of N pollers hammering it (and its pool)
    // while the holder's own reads and writes wait behind them. Other processes still meet at
    // the store's lock.
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => {
      // Like the store's lease: a holder that never ends its request frees the queue after ttl.
      const lease = setTimeout(resolve, config.lockTtl);
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
    turns.set(s, endTurn);
    try {
      if (!(await within(previous, deadline - Date.now()))) throw timeout();
      let delay = 5;
      for (;;) {
        if (await guard('lock', (o) => store.lock!(key, { ...o, owner, ttl: config.lockTtl }))) {
          s.lockOwner = owner;
          s.lockKey = key;
          return;
        }
        if (Date.now() >= deadline) throw timeout();
        await sleep(Math.min(delay + Math.random() * delay, Math.max(1, deadline - Date.now())));
        delay = Math.min(delay * 2, 100);
      }
    } catch (error) {
      turns.delete(s);
      endTurn();
      throw error;
    }
  }

  async function release(s: SessionState): Promise<void> {
    const { lockKey, lockOwner } = s;
    const endTurn = turns.get(s);
    turns.delete(s);
    try {
      if (lockKey === null || lockOwner === null) return;
      s.lockKey = null;
      s.lockOwner = null;
      await guard('unlock', (o) => store.unlock!(lockKey, { ...o, owner: lockOwner }));
    } finally {
      endTurn?.(); // after the unlock, so the next local waiter's first lock call succeeds
    }
  }

  async function load(s: SessionState, mode: ConcurrencyMode): Promise<void> {
    try {
      const verified = verifyCookie(s.cookieValues);
      if (verified !== null) {
        const { id } = verified;
        if (mode === 'lock') await acquireLock(s, hashSessionId(id));
        let found = await read(id);
        if (found !== undefined && !fingerprintMatches(found.payload.meta, s.client)) {
          const key = hashSessionId(id);
          const policy = config.fingerprint!.policy;
          emit({ type: 'fingerprint-mismatch', handle: short(key), policy });
          if (policy === 'destroy') {
            if (!found.forwarded) await guard('delete', (o) => store.delete(key, o));
            emit({ type: 'destroy', handle: short(key) });
            found = undefined;
          } else {
            s.flagged = true;
          }
        }
        if (found !== undefined) {
          if (found.forwarded) s.readOnly = true;
          s.clientId = id;
          s.id = id;
          // Signed under an older secret: re-issue the same id under the primary (key rotation).
          if (verified.stale) s.cookieDirty = true;
          s.version = found.record.version;
          s.expiresAt = found.record.expiresAt;
          // After invalidate() the request works on a fresh session; the old one is only deleted.
          if (s.rotation !== 'invalidate') s.base = found.payload;
        }
      }
      if (s.id === null && s.rotation !== 'invalidate') s.base = fresh(s.client);
      s.loaded = true;
    } catch (error) {
      s.failed = error;
      throw error;
    }
  }

  /** Reload after losing a CAS; throws a `destroyed` conflict when the record is gone. */
  async function reload(s: SessionState): Promise<void> {
    const found = s.id === null ? undefined : await read(s.id);
    if (found === undefined) {
      emit({ type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'destroyed' });
      throw new ConflictError('destroyed');
    }
    s.version = found.record.version;
    s.expiresAt = found.record.expiresAt;
    s.base = found.payload;
  }

  function checkReadWrite(s: SessionState): void {
    if (s.observed === undefined || s.observed.size === 0) return;
    const written = writtenPaths(s.ops);
    const stale: string[] = [];
    for (const [path, seen] of s.observed) {
      if (!written.some((w) => pathsOverlap(w, path))) continue;
      const current = path === '' ? s.base.data : getAt(s.base.data, path.split('.'));
      if (fingerprint(current) !== seen) stale.push(path);
    }
    if (stale.length > 0) {
      emit({ type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'read-write' });
      throw new ConflictError('read-write', stale);
    }
  }

  function recordOf(key: string, payload: SessionPayload, version: number): StoreRecord {
    const t = now();
    const meta: SessionMeta = { ...payload.meta, lastSeenAt: t };
    const expiresAt = Math.min(t + config.idle, meta.absoluteExpiresAt);
    return {
      data: seal(key, { ...payload, meta }),
      version,
      expiresAt,
      userId: meta.userId,
    };
  }

  /** The forwarding record left under an old id for `regenerateGrace` ms. */
  function forwardRecord(oldKey: string, newKey: string, version: number): StoreRecord {
    const text = encodeRedirect(newKey);
    return {
      data: config.encrypt ? sealPayload(text, config.keys, oldKey) : text,
      version,
      expiresAt: now() + config.grace,
      userId: null,
    };
  }

  /** Write `ops` (and the pending rotation) onto the freshest record, retrying lost CAS. */
  async function write(s: SessionState, mode: ConcurrencyMode): Promise<void> {
    for (let attempt = 1; attempt <= config.maxRetries + 1; attempt++) {
      if (s.rotation !== 'invalidate') checkReadWrite(s);
      const payload = applyOps(s.base, s.ops, limits.maxDepth);
      const oldKey = s.id === null ? null : keyOf(s);
      const userId = payload.meta.userId;
      const joinsUser =
        userId !== null &&
        (oldKey === null || s.rotation !== 'none' || userId !== s.base.meta.userId);
      if (joinsUser) await enforceLimit(userId, oldKey, 'before');
      if (s.rotation !== 'none' || oldKey === null) {
        const newId = config.generateId();
        const newKey = hashSessionId(newId);
        const record = recordOf(newKey, payload, 1);
        if (!(await guard('set', (o) => store.set(newKey, record, { ...o, ifVersion: 0 }))))
          continue;
        if (oldKey !== null) {
          const conditional = s.rotation === 'regenerate' && mode !== 'none';
          const retire = conditional ? { ifVersion: s.version } : {};
          const ok =
            s.rotation === 'regenerate' && config.grace > 0
              ? await guard('set', (o) =>
                  store.set(oldKey, forwardRecord(oldKey, newKey, s.version + 1), {
                    ...o,
                    ...retire,
                  }),
                )
              : await guard('delete', (o) => store.delete(oldKey, { ...o, ...retire }));
          if (!ok && conditional) {
            await guard('delete', (o) => store.delete(newKey, o));
            await reload(s);
            continue;
          }
          emit({ type: 'regenerate', handle: short(newKey), previous: short(oldKey) });
        } else {
          emit({ type: 'create', handle: short(newKey), userId: record.userId });
        }
        settle(s, newId, payload, record);
        if (joinsUser) await enforceLimit(userId, newKey, 'after');
        return;
      }
      const record = recordOf(oldKey, payload, s.version + 1);
      const condition = mode === 'none' ? {} : { ifVersion: s.version };
      if (await guard('set', (o) => store.set(oldKey, record, { ...o, ...condition }))) {
        settle(s, s.id, payload, record);
        if (joinsUser) await enforceLimit(userId, oldKey, 'after');
        emit({ type: 'commit', handle: short(oldKey), attempts: attempt });
        return;
      }
      await reload(s);
    }
    emit({ type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'retries-exhausted' });
    throw new ConflictError('retries-exhausted');
  }

  function settle(
    s: SessionState,
    id: string | null,
    payload: SessionPayload,
    record: StoreRecord,
  ): void {
    s.id = id;
    s.version = record.version;
    s.expiresAt = record.expiresAt;
    s.base = { ...payload, meta: { ...payload.meta, lastSeenAt: now() } };
    s.ops = [];
    s.observed = undefined;
    s.rotation = 'none';
  }

  async function commit(s: SessionState, mode: ConcurrencyMode): Promise<void> {
    if (s.failed !== undefined) throw s.failed;
    const pending = s.ops.length > 0 || s.rotation !== 'none' || s.destroyed;
    if (!pending && !s.loaded) return; // untouched: no I/O at all
    if (!s.loaded) await load(s, mode);
    if (s.readOnly) {
      // Loaded through a grace forward: the old id may read, never write.
      if (pending) throw new ConflictError('destroyed');
      return;
    }
    if (s.destroyed || (s.rotation === 'invalidate' && s.ops.length === 0)) {
      await deleteCurrent(s);
      s.rotation = 'none';
      return;
    }
    if (s.ops.length === 0 && s.rotation === 'none') {
      await maybeTouch(s);
      return;
    }
    const queueKey = handleOf(s);
    if (queueKey === undefined) await write(s, mode);
    else await serialize(queueKey, () => write(s, mode));
  }

  async function deleteCurrent(s: SessionState): Promise<void> {
    if (s.id === null) return;
    const key = keyOf(s);
    await guard('delete', (o) => store.delete(key, o));
    emit({ type: 'destroy', handle: short(key) });
    s.id = null;
    s.version = 0;
  }

  async function maybeTouch(s: SessionState): Promise<void> {
    if (s.id === null) return;
    const t = now();
    const next = Math.min(t + config.idle, s.base.meta.absoluteExpiresAt);
    if (next - s.expiresAt < config.touchInterval) return;
    const key = keyOf(s);
    if (await guard('touch', (o) => store.touch(key, next, o))) {
      s.expiresAt = next;
      emit({ type: 'touch', handle: short(key) });
    }
  }

  /**
   * Commit one small op at once, on its own compare-and-set (flash consumption, CSRF secret
   * creation), so that parallel requests agree on its outcome. Resolves the op as applied, or
   * `undefined` when `needed` says there is nothing to do (also after the session vanished).
   */
  async function commitEarly<T extends SessionOp>(
    s: SessionState,
    mode: ConcurrencyMode,
    makeOp: () => T,
    needed: (payload: SessionPayload) => boolean,
  ): Promise<T | undefined> {
    if (s.id === null || !needed(s.base)) return undefined;
    const storeKey = keyOf(s);
    return serialize(storeKey, async () => {
      for (let attempt = 0; attempt <= config.maxRetries; attempt++) {
        if (!needed(s.base)) return undefined;
        const op = makeOp();
        const payload = applyOps(s.base, [op], limits.maxDepth);
        const record = recordOf(storeKey, payload, s.version + 1);
        const condition = mode === 'none' ? {} : { ifVersion: s.version };
        if (await guard('set', (o) => store.set(storeKey, record, { ...o, ...condition }))) {
          s.version = record.version;
          s.expiresAt = record.expiresAt;
          s.base = payload;
          return op;
        }
        try {
          await reload(s);
        } catch (error) {
          if (isSessionError(error, 'ERR_SESSION_CONFLICT')) return undefined;
          throw error;
        }
      }
      throw new ConflictError('retries-exhausted');
    });
  }

  async function takeFlash(
    s: SessionState,
    key: string,
    mode: ConcurrencyMode,
  ): Promise<readonly unknown[]> {
    const op = await commitEarly(
      s,
      mode,
      () => ({ kind: 'flash-take' as const, key, taken: [] as readonly unknown[] }),
      (p) => Array.isArray(p.flash[key]),
    );
    return op?.taken ?? [];
  }

  async function initCsrf(s: SessionState, mode: ConcurrencyMode): Promise<string | null> {
    await commitEarly(
      s,
      mode,
      () => ({ kind: 'meta' as const, patch: { csrf: generateCsrfSecret() } }),
      (p) => p.meta.csrf === null,
    );
    return s.base.meta.csrf;
  }

  function handleOf(s: SessionState): string | undefined {
    return s.id === null ? undefined : keyOf(s);
  }

  /** The store key of the session's current id, hashed once per id (not per store call). */
  function keyOf(s: SessionState): string {
    const id = s.id!; // callers check that the session has an id
    if (s.keyOf !== id) {
      s.keyOf = id;
      s.key = hashSessionId(id);
    }
    return s.key!;
  }

  async function end(s: SessionState, mode: ConcurrencyMode): Promise<SessionResponse> {
    try {
      await commit(s, mode);
    } finally {
      await release(s).catch(() => undefined);
    }
    const setCookie: string[] = [];
    const t = now();
    if (s.id !== null && (s.id !== s.clientId || s.cookieDirty)) {
      const value = `${s.id}.${config.keys.sign('cookie-sign', s.id)}`;
      const maxAge = s.base.meta.persistent ? s.base.meta.absoluteExpiresAt - t : undefined;
      setCookie.push(serializeCookie(config.cookie, value, maxAge, t));
    } else if (s.id === null && s.clientId !== null) {
      setCookie.push(serializeCookie(config.cookie, '', 0, t));
    }
    s.clientId = s.id;
    s.cookieDirty = false;
    const touched = s.accessed || setCookie.length > 0;
    return {
      setCookie,
      vary: touched,
      cacheControl: touched ? config.cacheControl : undefined,
    };
  }

  const engines = new Map<ConcurrencyMode, SessionEngine>();
  return {
    emit,
    fresh,
    guard,
    open,
    seal,
    infoOf,
    end,
    release,
    forMode(mode: ConcurrencyMode): SessionEngine {
      let engine = engines.get(mode);
      if (engine === undefined) {
        engine = {
          maxDepth: limits.maxDepth,
          load: (s) => load(s, mode),
          commit: (s) => commit(s, mode),
          takeFlash: (s, key) => takeFlash(s, key, mode),
          initCsrf: (s) => initCsrf(s, mode),
          fresh: (s) => fresh(s.client),
          handleOf,
        };
        engines.set(mode, engine);
      }
      return engine;
    },
  };
}

function resolveOptions(options: SessionManagerOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'createSessionManager() needs an options object with `store` and `secrets`.',
    );
  }
  const { store } = options;
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.touch !== 'function' ||
    typeof store.delete !== 'function'
  ) {
    throw new ConfigError('Option `store` must be a SessionStore (get, set, touch and delete).');
  }
  const idle = duration(options.idleTimeout, 30 * 60_000, 'idleTimeout');
  const absolute = duration(options.absoluteTimeout, 12 * 60 * 60_000, 'absoluteTimeout');
  if (idle > absolute) {
    throw new ConfigError('Option `idleTimeout` cannot be longer than `absoluteTimeout`.');
  }
  const touchInterval = duration(options.touchInterval, 60_000, 'touchInterval', 0);
  const mode = options.concurrency ?? 'merge';
  if (!['merge', 'lock', 'none'].includes(mode)) {
    throw new ConfigError('Option `concurrency` must be "merge", "lock" or "none".');
  }
  if (mode === 'lock' && (typeof store.lock !== 'function' || typeof store.unlock !== 'function')) {
    throw new ConfigError(
      `Option \`concurrency: "lock"\` needs a store with lock/unlock; ${store.name} has none.`,
    );
  }
  const maxRetries = integer(options.maxRetries, 20, 'maxRetries', 0, 1000);
  if (options.maxSessionsPerUser !== undefined && typeof store.listByUser !== 'function') {
    throw new ConfigError(
      `Option \`maxSessionsPerUser\` needs a store with \`listByUser\`; ${store.name} has none.`,
    );
  }
  if (
    options.sessionLimit !== undefined &&
    !['evict-oldest', 'reject'].includes(options.sessionLimit)
  ) {
    throw new ConfigError('Option `sessionLimit` must be "evict-oldest" or "reject".');
  }
  return {
    store,
    keys: createKeyRing(options.secrets),
    cookie: resolveCookieOptions(options.cookie),
    idle,
    absolute,
    touchInterval,
    persistent: options.persistent ?? false,
    mode,
    maxRetries,
    lockTtl: duration(options.lock?.ttl, 30_000, 'lock.ttl'),
    lockWait: duration(options.lock?.wait, 5_000, 'lock.wait', 0),
    storeTimeout: duration(options.storeTimeout, 5_000, 'storeTimeout', 0),
    encrypt: options.encrypt ?? false,
    fingerprint: resolveFingerprint(options.fingerprint),
    maxSessionsPerUser:
      options.maxSessionsPerUser === undefined
        ? undefined
        : integer(options.maxSessionsPerUser, 0, 'maxSessionsPerUser', 1, 1_000_000),
    sessionLimit: options.sessionLimit ?? 'evict-oldest',
    grace: duration(options.regenerateGrace, 0, 'regenerateGrace', 0),
    limits: {
      maxBytes: integer(
        options.maxPayloadBytes,
        128 * 1024,
        'maxPayloadBytes',
        256,
        64 * 1024 * 1024,
      ),
      maxDepth: integer(options.maxDepth, 32, 'maxDepth', 1, 1000),
    },
    cacheControl:
      options.cacheControl === false ? undefined : (options.cacheControl ?? 'private, no-store'),
    onEvent: options.onEvent,
    now: options.now ?? Date.now,
    generateId: options.generateId ?? generateSessionId,
  };
}

function resolveFingerprint(options: FingerprintOptions | undefined): Config['fingerprint'] {
  if (options === undefined) return undefined;
  const policy = options.policy ?? 'flag';
  if (policy !== 'flag' && policy !== 'destroy') {
    throw new ConfigError('Option `fingerprint.policy` must be "flag" or "destroy".');
  }
  const resolved = { ip: options.ip ?? false, userAgent: options.userAgent ?? true, policy };
  if (!resolved.ip && !resolved.userAgent) {
    throw new ConfigError('Option `fingerprint` needs `ip` and/or `userAgent` set to true.');
  }
  return resolved;
}

function duration(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new ConfigError(`Option \`${name}\` must be a number of milliseconds ≥ ${min}.`);
  }
  return value;
}

function integer(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`Option \`${name}\` must be an integer from ${min} to ${max}.`);
  }
  return value;
}

/** First 12 characters of a store key: enough to correlate logs, useless as a credential. */
function short(key: string): string {
  return key.slice(0, 12);
}

function clientOf(request: SessionRequest): SessionState['client'] {
  const { ip } = request;
  const userAgent = clip(request.userAgent);
  if (typeof ip !== 'function') return { ip: ip ?? null, userAgent };
  let resolved: string | null | undefined;
  return {
    get ip(): string | null {
      resolved ??= ip() ?? null;
      return resolved;
    },
    userAgent,
  };
}

function clip(userAgent: string | undefined): string | null {
  return userAgent === undefined ? null : userAgent.slice(0, 512);
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
