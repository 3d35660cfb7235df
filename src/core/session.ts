/**
 * `sessionkit` — the per-request session: data, flash, metadata and status.
 *
 * Reads are async because the record is loaded lazily: a request that never reads or writes its
 * session costs no store I/O at all. Writes are synchronous *intents* recorded in an operation
 * log; the manager applies them at commit on the freshest record, so that concurrent requests
 * merge instead of overwriting each other (PRODUCT.md "Concurrency").
 */

import {
  type DataObject,
  emptyObject,
  getAt,
  parsePath,
  type SessionMeta,
  type SessionPayload,
  setAt,
  toSessionValue,
} from './codec.js';
import { StateError } from './errors.js';
import { generateCsrfSecret, maskCsrfToken, verifyCsrfToken } from './keys.js';
import type { DefaultData, DefaultFlash, SessionPath, SessionPathValue } from './types.js';

/** Where the session stands relative to its stored record. */
export type SessionStatus = 'unmodified' | 'modified' | 'destroyed';

/** One recorded write. Applied in order on the loaded record, and re-applied on a fresher one. */
export type SessionOp =
  | { kind: 'set'; path: readonly string[]; value: unknown }
  | { kind: 'clear' }
  | { kind: 'merge'; patch: DataObject }
  | { kind: 'update'; path: readonly string[]; fn: (current: unknown) => unknown; result?: unknown }
  | { kind: 'flash'; key: string; value: unknown; replace: boolean }
  | { kind: 'flash-take'; key: string; taken?: readonly unknown[] }
  | { kind: 'flash-restore'; key: string; values: readonly unknown[] }
  | {
      kind: 'meta';
      patch: Partial<Pick<SessionMeta, 'userId' | 'persistent' | 'ip' | 'userAgent' | 'csrf'>>;
    };

/** What the manager gives a session so it can load and commit. @internal */
export interface SessionEngine {
  readonly maxDepth: number;
  load(session: SessionState): Promise<void>;
  commit(session: SessionState): Promise<void>;
  takeFlash(session: SessionState, key: string): Promise<readonly unknown[]>;
  /** Create (atomically, once) the CSRF secret of a stored session; resolves it. */
  initCsrf(session: SessionState): Promise<string | null>;
  /** A fresh, empty payload for this request (new session or after `invalidate`). */
  fresh(session: SessionState): SessionPayload;
  /** The public handle (store key) of the session's current id. */
  handleOf(session: SessionState): string | undefined;
}

/** Mutable state shared between a session and its manager. @internal */
export interface SessionState {
  /** The session cookie value(s) presented, unverified (verification happens at load). */
  cookieValues: readonly string[];
  /** Verified id from the cookie whose record existed at load: what the client holds. */
  clientId: string | null;
  /** Raw id of the loaded/persisted record, or `null` for a new, unsaved session. */
  id: string | null;
  /** The id `key` was computed for (a one-entry memo of its store key). */
  keyOf: string | null;
  /** `hashSessionId(keyOf)`. */
  key: string | null;
  /** Owner token of the session lock held by this request (lock mode). */
  lockOwner: string | null;
  /** Store key the lock is held on. */
  lockKey: string | null;
  /** Version of the loaded record; `0` when there is none. */
  version: number;
  /** Expiry of the loaded record (ms), `0` when there is none. */
  expiresAt: number;
  /** The loaded (or last committed) payload. */
  base: SessionPayload;
  loaded: boolean;
  loading: Promise<void> | undefined;
  /** Set when loading failed: the session is unusable and nothing will be written. */
  failed: unknown;
  ops: SessionOp[];
  /** Paths this request read from `base` before writing them, with what it saw (JSON); made on first read. */
  observed: Map<string, string> | undefined;
  rotation: 'none' | 'regenerate' | 'invalidate';
  destroyed: boolean;
  /** Cookie attribute change pending (persistence toggled). */
  cookieDirty: boolean;
  /** The session was read or written at all (drives `Vary` / `Cache-Control`). */
  accessed: boolean;
  /** Called once, synchronously, when `accessed` first turns true (adapters hold the response then). */
  onAccess: (() => void) | undefined;
  /** Loaded through a regenerate grace forward: readable, not writable. */
  readOnly: boolean;
  /** The client's ip / user agent did not match the session's (fingerprint policy `flag`). */
  flagged: boolean;
  /** Client info of the request, recorded on create and login. */
  client: { ip: string | null; userAgent: string | null };
}

/** Options of {@link Session.regenerate}. */
export interface RegenerateOptions {
  /**
   * Keep the session data under the new id.
   * @default true
   */
  keep?: boolean;
}

/** Options of {@link Session.login}. */
export interface LoginOptions extends RegenerateOptions {
  /** Issue a persistent ("remember me") cookie instead of a browser-session cookie. */
  persistent?: boolean;
}

/** The flash API of a session, typed by the manager's `FlashData`. */
export interface Flash<F extends object = DefaultFlash> {
  /** Set a one-hop value: readable (once) by a later request. Replaces earlier values of `key`. */
  set<K extends keyof F & string>(key: K, value: F[K]): void;
  /** Append a message to the list under `key` (e.g. `add('success', 'Saved')`). */
  add<K extends keyof F & string>(key: K, value: F[K]): void;
  /** Set a value visible to this request only (never stored). */
  now<K extends keyof F & string>(key: K, value: F[K]): void;
  /**
   * Read and consume the latest value of `key`: this request's `now` value if any, else the one
   * a previous request flashed. Consumption is atomic: with parallel requests exactly one gets it.
   */
  get<K extends keyof F & string>(key: K): Promise<F[K] | undefined>;
  /** Read and consume every message under `key` (previous requests' first, then `now`). */
  messages<K extends keyof F & string>(key: K): Promise<F[K][]>;
  /** Every pending message under `key`, without consuming. */
  peek<K extends keyof F & string>(key: K): Promise<F[K][]>;
  /** Keep every value this request consumed (or would consume) for one more request. */
  reflash(): void;
  /** Keep the given keys' consumed values for one more request. */
  keep(...keys: (keyof F & string)[]): void;
}

/** The session of one request. Obtained from an adapter (or `manager.open()`). */
export interface Session<D extends object = DefaultData, F extends object = DefaultFlash> {
  /** `'modified'` while writes await commit, `'destroyed'` after `destroy()`. */
  readonly status: SessionStatus;
  /**
   * `true` after loading when fingerprint binding (policy `flag`) saw another ip / user agent than
   * the session was created or signed in with. Decide yourself: ask to re-authenticate, log, …
   */
  readonly flagged: boolean;
  /** Value at a dot path, or `undefined`. Objects returned are frozen. */
  get<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined>;
  /** `true` when the path exists (a stored `null` counts as present). */
  has(key: SessionPath<D>): Promise<boolean>;
  /** All data (frozen, null-prototype). */
  all(): Promise<Readonly<Partial<D>>>;
  /** Read and delete. */
  pull<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined>;
  /** Write a value (JSON data only; throws `ERR_SESSION_DATA` otherwise). */
  set<P extends SessionPath<D>>(key: P, value: SessionPathValue<D, P>): void;
  /** Remove a value. */
  delete(key: SessionPath<D>): void;
  /** Write several top-level keys at once without touching the others. */
  merge(patch: Partial<D>): void;
  /** Remove all data (metadata and flash stay). */
  clear(): void;
  /**
   * Functional update: `fn` gets the current value and returns the next. On a concurrent change
   * the core re-runs `fn` on the fresh value, so increments are never lost. `fn` must be pure.
   * Resolves the value this request computed.
   */
  update<P extends SessionPath<D>>(
    key: P,
    fn: (current: SessionPathValue<D, P> | undefined) => SessionPathValue<D, P>,
  ): Promise<SessionPathValue<D, P>>;
  /** Flash values and messages. */
  readonly flash: Flash<F>;
  /** Core-kept metadata (creation, last seen, deadline, user, client). */
  meta(): Promise<Readonly<SessionMeta>>;
  /**
   * New id at commit; the old record is deleted. Data is kept by default; `keep: false` is
   * `invalidate()` (an empty session gets an id only once something is written to it).
   */
  regenerate(options?: RegenerateOptions): void;
  /**
   * Sign a user in: regenerate (SECURITY.md §4), record the user id and client, set persistence.
   * Throws `ERR_SESSION_STATE` for a user id that is empty, longer than 256 characters or holds NUL.
   */
  login(userId: string, options?: LoginOptions): void;
  /** Sign out but keep a (new, empty) session: `invalidate()` plus clearing the user. */
  logout(): void;
  /** Clear everything and issue a new id at commit; the old record is deleted. */
  invalidate(): void;
  /** Delete the record and expire the cookie. Later writes throw `ERR_SESSION_STATE`. */
  destroy(): void;
  /** Switch between a "remember me" cookie (`true`) and a browser-session cookie. */
  setPersistent(persistent: boolean): void;
  /**
   * A CSRF token for this response: the session's synchronizer secret, masked with a fresh random
   * pad (BREACH-safe, different on every call). Creates the secret on first use — which saves the
   * session. The secret rotates on `regenerate()` / `login()` / `invalidate()`.
   */
  csrfToken(): Promise<string>;
  /** `true` when `token` was issued by `csrfToken()` for this session's current secret. */
  verifyCsrfToken(token: unknown): Promise<boolean>;
  /** Opaque handle of the stored record (hashed id), or `undefined` while unsaved. */
  handle(): Promise<string | undefined>;
  /** Load now (reads do this implicitly). Rejects with `ERR_SESSION_STORE` on outage. */
  load(): Promise<void>;
  /**
   * Commit pending writes now (adapters do it before the first header byte). Afterwards reads see
   * the committed state, including concurrent requests' merged writes.
   */
  commit(): Promise<void>;
}

const UNLOADED: SessionPayload = Object.freeze({
  data: emptyObject(),
  flash: emptyObject(),
  meta: Object.freeze({
    createdAt: 0,
    lastSeenAt: 0,
    absoluteExpiresAt: 0,
    userId: null,
    ip: null,
    userAgent: null,
    persistent: false,
    csrf: null,
  }),
});

/** Mark the session used; the first time, tell whoever waits for it (`onAccess`). @internal */
export function markAccessed(s: SessionState): void {
  if (s.accessed) return;
  s.accessed = true;
  const listener = s.onAccess;
  s.onAccess = undefined;
  listener?.();
}

/** Create the state of a request's session. @internal */
export function createSessionState(
  cookieValues: readonly string[],
  client: SessionState['client'],
): SessionState {
  return {
    cookieValues,
    clientId: null,
    id: null,
    keyOf: null,
    key: null,
    lockOwner: null,
    lockKey: null,
    version: 0,
    expiresAt: 0,
    // Set by the first load (the stored payload, or a fresh one): untouched requests never pay
    // for building a payload.
    base: UNLOADED,
    loaded: false,
    loading: undefined,
    failed: undefined,
    ops: [],
    observed: undefined,
    rotation: 'none',
    destroyed: false,
    cookieDirty: false,
    accessed: false,
    onAccess: undefined,
    readOnly: false,
    flagged: false,
    client,
  };
}

/**
 * Apply `ops` to `payload`, returning the new payload (inputs are not mutated). Runs `update`
 * functions and records their results on the ops; throws `ERR_SESSION_DATA` when one returns
 * non-JSON data. @internal
 */
export function applyOps(
  payload: SessionPayload,
  ops: readonly SessionOp[],
  maxDepth: number,
): SessionPayload {
  let { data, flash, meta } = payload;
  for (const op of ops) {
    switch (op.kind) {
      case 'set':
        data = setAt(data, op.path, op.value);
        break;
      case 'clear':
        data = emptyObject();
        break;
      case 'merge':
        for (const key of Object.keys(op.patch)) data = setAt(data, [key], op.patch[key]);
        break;
      case 'update': {
        const next = toSessionValue(op.fn(getAt(data, op.path)), maxDepth);
        op.result = next;
        data = setAt(data, op.path, next);
        break;
      }
      case 'flash': {
        const list = op.replace ? [] : ((flash[op.key] as unknown[] | undefined) ?? []);
        flash = setAt(flash, [op.key], Object.freeze([...list, op.value]));
        break;
      }
      case 'flash-take':
        op.taken = (flash[op.key] as unknown[] | undefined) ?? [];
        flash = setAt(flash, [op.key], undefined);
        break;
      case 'flash-restore': {
        const list = (flash[op.key] as unknown[] | undefined) ?? [];
        flash = setAt(flash, [op.key], Object.freeze([...op.values, ...list]));
        break;
      }
      case 'meta':
        meta = { ...meta, ...op.patch };
        break;
    }
  }
  return { data, flash, meta };
}

/** Dot paths an op log writes blindly (updates re-apply functionally, so they don't count). @internal */
export function writtenPaths(ops: readonly SessionOp[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if (op.kind === 'set') out.push(op.path.join('.'));
    else if (op.kind === 'clear') out.push('');
    else if (op.kind === 'merge') out.push(...Object.keys(op.patch));
  }
  return out;
}

/** `true` when two dot paths overlap (equal, or one contains the other; `''` is the root). @internal */
export function pathsOverlap(a: string, b: string): boolean {
  return a === '' || b === '' || a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** JSON text used to compare observed values (`undefined` gets its own marker). @internal */
export function fingerprint(value: unknown): string {
  return value === undefined ? '\u0000undefined' : JSON.stringify(value);
}

/** Implementation of {@link Session}. @internal */
export class SessionImpl<D extends object, F extends object> implements Session<D, F> {
  readonly #state: SessionState;
  readonly #engine: SessionEngine;
  #flash: Flash<F> | undefined;

  constructor(state: SessionState, engine: SessionEngine) {
    this.#state = state;
    this.#engine = engine;
  }

  get flash(): Flash<F> {
    this.#flash ??= createFlash<F>(this.#state, this.#engine, () => this.load());
    return this.#flash;
  }

  get flagged(): boolean {
    return this.#state.flagged;
  }

  get status(): SessionStatus {
    const s = this.#state;
    if (s.destroyed) return 'destroyed';
    return s.ops.length > 0 || s.rotation !== 'none' || s.cookieDirty ? 'modified' : 'unmodified';
  }

  async load(): Promise<void> {
    const s = this.#state;
    markAccessed(s);
    if (s.failed !== undefined) throw s.failed;
    if (s.loaded) return;
    s.loading ??= this.#engine.load(s);
    await s.loading;
  }

  async get<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined> {
    const path = parsePath(key);
    await this.load();
    return this.#read(path) as SessionPathValue<D, P> | undefined;
  }

  async has(key: SessionPath<D>): Promise<boolean> {
    const path = parsePath(key);
    await this.load();
    return this.#read(path) !== undefined;
  }

  async all(): Promise<Readonly<Partial<D>>> {
    await this.load();
    return this.#read([]) as Partial<D>;
  }

  async pull<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined> {
    const value = await this.get(key);
    this.delete(key);
    return value;
  }

  set<P extends SessionPath<D>>(key: P, value: SessionPathValue<D, P>): void {
    const path = parsePath(key);
    this.#write({ kind: 'set', path, value: toSessionValue(value, this.#engine.maxDepth) });
  }

  delete(key: SessionPath<D>): void {
    this.#write({ kind: 'set', path: parsePath(key), value: undefined });
  }

  merge(patch: Partial<D>): void {
    const value = toSessionValue(patch, this.#engine.maxDepth);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new StateError('merge() takes a plain object.');
    }
    this.#write({ kind: 'merge', patch: value as DataObject });
  }

  clear(): void {
    this.#write({ kind: 'clear' });
  }

  async update<P extends SessionPath<D>>(
    key: P,
    fn: (current: SessionPathValue<D, P> | undefined) => SessionPathValue<D, P>,
  ): Promise<SessionPathValue<D, P>> {
    const op: SessionOp = {
      kind: 'update',
      path: parsePath(key),
      fn: fn as (current: unknown) => unknown,
    };
    this.#write(op);
    await this.load();
    // Run it now against this request's view, so the caller gets a value and bad data throws
    // here — and a throwing update leaves nothing behind in the log.
    const ops = this.#state.ops;
    const depth = this.#engine.maxDepth;
    try {
      applyOps(applyOps(this.#state.base, ops.slice(0, ops.indexOf(op)), depth), [op], depth);
    } catch (error) {
      ops.splice(ops.indexOf(op), 1);
      throw error;
    }
    return op.result as SessionPathValue<D, P>;
  }

  async meta(): Promise<Readonly<SessionMeta>> {
    await this.load();
    return applyOps(this.#state.base, this.#state.ops, this.#engine.maxDepth).meta;
  }

  regenerate(options: RegenerateOptions = {}): void {
    this.#alive();
    if (options.keep === false) this.invalidate();
    else {
      if (this.#state.rotation === 'none') this.#state.rotation = 'regenerate';
      // SECURITY.md §4: a privilege change rotates the CSRF token in the same step.
      this.#write({ kind: 'meta', patch: { csrf: null } });
    }
    markAccessed(this.#state);
  }

  login(userId: string, options: LoginOptions = {}): void {
    // No NUL: PostgreSQL text cannot hold it, so one store would fail as an outage (503) where
    // the others accept it; refusing it here keeps every store consistent.
    if (
      typeof userId !== 'string' ||
      userId.length === 0 ||
      userId.length > 256 ||
      userId.includes('\u0000')
    ) {
      throw new StateError('login() needs a user id of 1–256 characters without NUL.');
    }
    this.regenerate(options);
    const { ip, userAgent } = this.#state.client;
    const patch: Extract<SessionOp, { kind: 'meta' }>['patch'] = { userId, ip, userAgent };
    if (options.persistent !== undefined) {
      patch.persistent = options.persistent;
      this.#state.cookieDirty = true;
    }
    this.#write({ kind: 'meta', patch });
  }

  logout(): void {
    this.invalidate();
  }

  invalidate(): void {
    this.#alive();
    const s = this.#state;
    s.rotation = 'invalidate';
    s.base = this.#engine.fresh(s);
    s.ops = [];
    s.observed = undefined;
    markAccessed(s);
  }

  destroy(): void {
    const s = this.#state;
    s.destroyed = true;
    s.ops = [];
    markAccessed(s);
  }

  setPersistent(persistent: boolean): void {
    this.#state.cookieDirty = true;
    this.#write({ kind: 'meta', patch: { persistent } });
  }

  async csrfToken(): Promise<string> {
    await this.load();
    const s = this.#state;
    if (s.destroyed) throw new StateError('The session was destroyed in this request.');
    let secret = this.#view().meta.csrf;
    if (secret === null && s.id !== null && s.rotation === 'none' && !this.#csrfPending()) {
      // A stored session: create the secret with its own CAS so parallel first requests agree.
      secret = await this.#engine.initCsrf(s);
    }
    if (secret === null) {
      secret = generateCsrfSecret();
      this.#write({ kind: 'meta', patch: { csrf: secret } });
    }
    return maskCsrfToken(secret);
  }

  async verifyCsrfToken(token: unknown): Promise<boolean> {
    await this.load();
    const secret = this.#state.destroyed ? null : this.#view().meta.csrf;
    return secret !== null && verifyCsrfToken(secret, token);
  }

  async handle(): Promise<string | undefined> {
    await this.load();
    return this.#engine.handleOf(this.#state);
  }

  async commit(): Promise<void> {
    const s = this.#state;
    if (s.failed !== undefined) throw s.failed;
    await this.#engine.commit(s);
  }

  #view(): SessionPayload {
    const s = this.#state;
    return s.ops.length === 0 ? s.base : applyOps(s.base, s.ops, this.#engine.maxDepth);
  }

  // A pending op already sets or clears the secret (e.g. a rotation): don't create it out of band.
  #csrfPending(): boolean {
    return this.#state.ops.some((op) => op.kind === 'meta' && 'csrf' in op.patch);
  }

  #alive(): void {
    if (this.#state.destroyed) {
      throw new StateError('The session was destroyed in this request; it cannot be written.');
    }
  }

  #write(op: SessionOp): void {
    this.#alive();
    this.#state.ops.push(op);
    markAccessed(this.#state);
  }

  // Reads see this request's own writes; a read of a path not yet written here is observed, so a
  // later blind write of it can be checked against concurrent changes at commit.
  #read(path: readonly string[]): unknown {
    const s = this.#state;
    if (s.destroyed) return path.length === 0 ? emptyObject() : undefined;
    const key = path.join('.');
    const written = writtenPaths(s.ops).some((w) => pathsOverlap(w, key));
    if (!written && !s.observed?.has(key)) {
      s.observed ??= new Map();
      s.observed.set(key, fingerprint(getAt(s.base.data, path)));
    }
    if (s.ops.length === 0) return getAt(s.base.data, path);
    return getAt(applyOps(s.base, s.ops, this.#engine.maxDepth).data, path);
  }
}

function createFlash<F extends object>(
  s: SessionState,
  engine: SessionEngine,
  load: () => Promise<void>,
): Flash<F> {
  // Request-local flash (`flash.now`, never stored) and what this request consumed (for
  // `reflash` / `keep`): they exist only once the flash API is used.
  const nowValues = new Map<string, unknown[]>();
  const consumed = new Map<string, readonly unknown[]>();
  const push = (key: string, value: unknown, replace: boolean): void => {
    if (s.destroyed) throw new StateError('The session was destroyed in this request.');
    s.ops.push({
      kind: 'flash',
      key: parseFlashKey(key),
      value: toSessionValue(value, engine.maxDepth),
      replace,
    });
    markAccessed(s);
  };
  const take = async (key: string): Promise<unknown[]> => {
    parseFlashKey(key);
    await load();
    const stored = consumed.has(key) ? [] : await engine.takeFlash(s, key);
    if (!consumed.has(key)) consumed.set(key, stored);
    const now = nowValues.get(key) ?? [];
    return [...stored, ...now];
  };
  const restore = (keys: Iterable<string>): void => {
    for (const key of keys) {
      const values = consumed.get(key);
      if (values !== undefined && values.length > 0) {
        s.ops.push({ kind: 'flash-restore', key, values });
        consumed.delete(key);
      }
    }
  };
  return {
    set: (key, value) => push(key, value, true),
    add: (key, value) => push(key, value, false),
    now(key, value) {
      const list = nowValues.get(parseFlashKey(key)) ?? [];
      list.push(toSessionValue(value, engine.maxDepth));
      nowValues.set(key, list);
    },
    async get(key) {
      const values = await take(key);
      return values.at(-1) as F[typeof key] | undefined;
    },
    async messages(key) {
      return (await take(key)) as F[typeof key][];
    },
    async peek(key) {
      parseFlashKey(key);
      await load();
      const stored = consumed.has(key) ? [] : ((s.base.flash[key] as unknown[] | undefined) ?? []);
      return [...stored, ...(nowValues.get(key) ?? [])] as F[typeof key][];
    },
    reflash() {
      // Values not consumed yet simply stay stored; consumed ones are put back.
      restore([...consumed.keys()]);
    },
    keep(...keys) {
      restore(keys);
    },
  };
}

function parseFlashKey(key: string): string {
  const [segment] = parsePath(key);
  if (segment !== key) throw new StateError('Flash keys cannot contain dots.');
  return key;
}
