/**
 * `sessionkit` — the per-request session's implementation (`SessionImpl`): reads through the
 * request's view, writes recorded as intents in the op log, the CSRF secret created once by
 * compare-and-set. The public interface is `session.ts`.
 */

import { destroyHeader } from './clear-site-data.js';
import { clientMeta } from './client.js';
import {
  type DataObject,
  emptyObject,
  parsePath,
  readAt,
  type SessionMeta,
  type SessionPayload,
  toSessionValue,
  toValueAt,
} from './codec.js';
import type { Context } from './context.js';
import { ConfigError, isSessionError, StateError } from './errors.js';
import { createFlash, type Flash } from './flash.js';
import { generateCsrfSecret, maskCsrfToken, verifyCsrfToken } from './keys.js';
import * as lifecycle from './lifecycle.js';
import { DONE } from './loads.js';
import { csrfPending, observe, type SessionOp } from './ops.js';
import { freshPayload, handleOf } from './records.js';
import type {
  DestroyOptions,
  LoginOptions,
  RegenerateOptions,
  Session,
  SessionStatus,
} from './session.js';
import { markAccessed, type SessionState } from './state.js';
import type { SessionPath, SessionPathValue } from './types.js';
import { NOTHING_WRITTEN, record, viewOf } from './view.js';
import { commitEarly } from './writes.js';

/** Implementation of {@link Session}. @internal */
export class SessionImpl<D extends object, F extends object> implements Session<D, F> {
  readonly #state: SessionState;
  readonly #ctx: Context;
  #flash: Flash<F> | undefined;

  constructor(ctx: Context, state: SessionState) {
    this.#state = state;
    this.#ctx = ctx;
  }

  get flash(): Flash<F> {
    this.#flash ??= createFlash<F>(this.#ctx, this.#state, () => this.load());
    return this.#flash;
  }

  get flagged(): boolean {
    return this.#state.flagged;
  }

  get degraded(): boolean {
    return this.#state.degraded;
  }

  degrade(error: unknown): void {
    if (
      !isSessionError(error, 'ERR_SESSION_STORE') &&
      !isSessionError(error, 'ERR_SESSION_LOCK_TIMEOUT')
    ) {
      if (error === undefined || error === null) {
        throw new StateError('degrade() takes the store error the request is answering.');
      }
      throw error;
    }
    const s = this.#state;
    s.degraded = true;
    s.failed ??= error;
    s.ops = [];
    s.observed = undefined;
    s.rotation = 'none';
    s.cookieDirty = false;
    s.clearSiteData = undefined;
    markAccessed(s);
  }

  get status(): SessionStatus {
    const s = this.#state;
    if (s.destroyed) return 'destroyed';
    const pending = s.ops.length > 0 || s.rotation !== 'none' || s.cookieDirty;
    return pending || s.sealed?.move === true ? 'modified' : 'unmodified';
  }

  load(): Promise<void> {
    const s = this.#state;
    markAccessed(s);
    if (s.failed !== undefined) return Promise.reject(s.failed);
    // Loaded already: the one shared settled promise.
    if (s.loaded) return DONE;
    // Not an async method: the load's own promise, with no second frame around it.
    s.loading ??= lifecycle.load(this.#ctx, s);
    return s.loading;
  }

  get<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined> {
    // Not an async method (the hottest read): the load's promise and one reaction.
    let path: string[];
    try {
      path = parsePath(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.load().then(() => this.#read(path) as SessionPathValue<D, P> | undefined);
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
    this.#write({ kind: 'set', path, value: toValueAt(path, value, this.#ctx.limits.maxDepth) });
  }

  delete(key: SessionPath<D>): void {
    this.#write({ kind: 'set', path: parsePath(key), value: undefined });
  }

  merge(patch: Partial<D>): void {
    const value = toSessionValue(patch, this.#ctx.limits.maxDepth);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new StateError('merge() takes a plain object.');
    }
    this.#write({ kind: 'merge', patch: value as DataObject });
  }

  clear(): void {
    this.#write({ kind: 'clear' });
  }

  update<P extends SessionPath<D>>(
    key: P,
    fn: (current: SessionPathValue<D, P> | undefined) => SessionPathValue<D, P>,
  ): Promise<SessionPathValue<D, P>> {
    // Not an async method either: the load's promise and one reaction.
    let op: SessionOp;
    try {
      op = { kind: 'update', path: parsePath(key), fn: fn as (current: unknown) => unknown };
      // Once loaded, the function runs as the op is recorded (a throw records nothing); before,
      // it runs when the view is brought up to date on the loaded data, and a throwing update
      // leaves the log with its error.
      this.#write(op);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.load().then(() => {
      viewOf(this.#ctx, this.#state);
      if (op.error !== undefined) throw op.error;
      return op.result as SessionPathValue<D, P>;
    });
  }

  async meta(): Promise<Readonly<SessionMeta>> {
    await this.load();
    return this.#meta();
  }

  regenerate(options: RegenerateOptions = {}): void {
    this.#alive();
    if (options.keep === false) this.invalidate();
    else {
      if (this.#state.rotation === 'none') this.#state.rotation = 'regenerate';
      // A privilege change rotates the CSRF token in the same step (as it rotates the id).
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
    const patch: Extract<SessionOp, { kind: 'meta' }>['patch'] = {
      userId,
      ...clientMeta(this.#ctx, this.#state.client),
    };
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
    s.base = freshPayload(this.#ctx, s.client);
    s.ops = [];
    s.observed = undefined;
    markAccessed(s);
  }

  destroy(options: DestroyOptions = {}): void {
    this.#usable();
    const s = this.#state;
    const header = destroyHeader(options.clearSiteData, this.#ctx.clearSiteData);
    if (header !== undefined) s.clearSiteData = header;
    s.destroyed = true;
    s.ops = [];
    markAccessed(s);
  }

  setPersistent(persistent: boolean): void {
    this.#usable();
    this.#state.cookieDirty = true;
    this.#write({ kind: 'meta', patch: { persistent } });
  }

  moveServerSide(): void {
    this.#alive();
    const sealed = this.#ctx.sealed;
    if (sealed !== undefined && !sealed.hybrid) {
      throw new ConfigError(
        'moveServerSide() needs a server side: cookieStore() and jwtStore() sessions live in the token only. Use hybridStore({ store }); see docs/stateless.md.',
      );
    }
    // Server-side already (or a server-side store): nothing to move.
    if (this.#state.sealed !== undefined) this.#state.sealed.move = true;
    markAccessed(this.#state);
  }

  async csrfToken(): Promise<string> {
    await this.load();
    const s = this.#state;
    if (s.destroyed) throw new StateError('The session was destroyed in this request.');
    let secret = this.#meta().csrf;
    if (secret === null && s.id !== null && s.rotation === 'none' && !csrfPending(s.ops)) {
      // A stored session: create the secret with its own CAS so parallel first requests agree.
      secret = await initCsrf(this.#ctx, s);
    }
    if (secret === null) {
      secret = generateCsrfSecret();
      this.#write({ kind: 'meta', patch: { csrf: secret } });
    }
    return maskCsrfToken(secret);
  }

  async verifyCsrfToken(token: unknown): Promise<boolean> {
    await this.load();
    const secret = this.#state.destroyed ? null : this.#meta().csrf;
    return secret !== null && verifyCsrfToken(secret, token);
  }

  async handle(): Promise<string | undefined> {
    await this.load();
    return handleOf(this.#state);
  }

  async commit(): Promise<void> {
    const s = this.#state;
    if (s.failed !== undefined) throw s.failed;
    await lifecycle.commit(this.#ctx, s);
  }

  /** The metadata as this request's writes left it. */
  #meta(): SessionMeta {
    const s = this.#state;
    return s.ops.length === 0 ? s.base.meta : viewOf(this.#ctx, s).draft.meta;
  }

  /** After `degrade()`, every use of the session throws the outage again. */
  #usable(): void {
    if (this.#state.degraded) throw this.#state.failed;
  }

  #alive(): void {
    this.#usable();
    if (this.#state.destroyed) {
      throw new StateError('The session was destroyed in this request; it cannot be written.');
    }
  }

  #write(op: SessionOp): void {
    this.#alive();
    record(this.#ctx, this.#state, op);
    markAccessed(this.#state);
  }

  // Reads see this request's own writes; a read of a path not yet written here is observed, so a
  // later blind write of it can be checked against concurrent changes at commit.
  #read(path: readonly string[]): unknown {
    const s = this.#state;
    if (s.destroyed) return path.length === 0 ? emptyObject() : undefined;
    if (s.ops.length === 0) {
      s.observed = observe(s.observed, NOTHING_WRITTEN, s.base, path);
      return readAt(s.base, path);
    }
    const view = viewOf(this.#ctx, s);
    s.observed = observe(s.observed, view.written, s.base, path);
    return view.draft.read(path);
  }
}

/** Create (atomically, once) the CSRF secret of a stored session; resolves it. */
async function initCsrf(ctx: Context, s: SessionState): Promise<string | null> {
  await commitEarly(ctx, s, newCsrfSecretOp, lacksCsrfSecret);
  return s.base.meta.csrf;
}

function newCsrfSecretOp(): SessionOp {
  return { kind: 'meta', patch: { csrf: generateCsrfSecret() } };
}

function lacksCsrfSecret(payload: SessionPayload): boolean {
  return payload.meta.csrf === null;
}
