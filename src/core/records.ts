/**
 * `sessionkit` — payload ⇄ stored record: the one owner of "id → store key", sealing and opening
 * (encode, and encrypt when `encrypt` is on), grace forwards, reading a live record, and reseal.
 */

import { bookkeepingOf } from './bookkeeping.js';
import { clientMeta } from './client.js';
import {
  decodePayload,
  decodeRedirect,
  emptyObject,
  encodePayload,
  encodeRedirect,
  type SessionPayload,
  sealPayload,
  seenAt,
  unsealPayload,
} from './codec.js';
import { type Context, emit, emitGuess, short } from './context.js';
import { ConfigError } from './errors.js';
import { storeGet, storeIds, storeSet } from './gateway.js';
import { hashSessionId } from './keys.js';
import { sha256 } from './sha256.js';
import type { SessionState } from './state.js';
import type { StoreRecord } from './store.js';

/** Options of `SessionManager.reseal`. */
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

/** What `SessionManager.reseal` did. */
export interface ResealResult {
  scanned: number;
  /** Rewritten under the primary key. */
  resealed: number;
  /** Already under the primary key, gone, rewritten concurrently, or not a session (a user record). */
  skipped: number;
  /** Neither decryptable with any key in the ring nor accepted plaintext: left untouched. */
  unreadable: number;
}

/** A live record as read: its payload, and whether it was reached through a grace forward. */
export interface FoundRecord {
  record: StoreRecord;
  payload: SessionPayload;
  forwarded?: true;
}

/**
 * The store key of session `id`: `base64url(SHA-256(id))` — stores never see a raw id. Remembered
 * on the request's state (one entry), so a request hashes an id once however many store calls
 * (lock, read, write, touch, unlock) use it. @internal
 */
export function keyFor(s: SessionState, id: string): string {
  if (s.keyOf !== id) {
    s.keyOf = id;
    s.key = hashSessionId(id);
  }
  return s.key!;
}

/** The store key of the session's current id (callers check that it has one). @internal */
export function keyOf(s: SessionState): string {
  return keyFor(s, s.id!);
}

/**
 * The store key of a new id, computed before the id becomes the session's (a rotation may still
 * lose its race); {@link adoptKey} remembers it once it does. @internal
 */
export function newStoreKey(id: string): string {
  return hashSessionId(id);
}

/** Remember `key` as the store key of `id`, the session's id from now on. @internal */
export function adoptKey(s: SessionState, id: string, key: string): void {
  s.keyOf = id;
  s.key = key;
}

/**
 * The store key of a user's own lease lock: `base64url(SHA-256('sessionkit:user\0' + userId))`.
 * Never a session's key (a session id is 43 base64url characters, without NUL), and no user id
 * reaches the store as a key. @internal
 */
export function userStoreKey(userId: string): string {
  return sha256(`sessionkit:user\0${userId}`, 'base64url');
}

/** The store key of the session's current id, or `undefined` while it has none. @internal */
export function handleOf(s: SessionState): string | undefined {
  return s.id === null ? undefined : keyOf(s);
}

/** A fresh, empty payload for a new session of `client` (or one after `invalidate`). @internal */
export function freshPayload(ctx: Context, client: SessionState['client']): SessionPayload {
  const t = ctx.now();
  return {
    data: emptyObject(),
    flash: emptyObject(),
    meta: {
      createdAt: t,
      lastSeenAt: t,
      absoluteExpiresAt: t + ctx.absolute,
      userId: null,
      ...clientMeta(ctx, client),
      persistent: ctx.persistent,
      csrf: null,
      generation: 0,
    },
  };
}

/** Decrypt (when enabled) and decode a record; `undefined` — with an event — when unreadable. @internal */
export function openRecord(
  ctx: Context,
  key: string,
  record: StoreRecord,
): SessionPayload | undefined {
  return decodeOpened(ctx, key, unseal(ctx, key, record));
}

/** The record to store `payload` under `key` at `version`, seen now (sliding idle expiry). @internal */
export function recordOf(
  ctx: Context,
  key: string,
  payload: SessionPayload,
  version: number,
): StoreRecord {
  const t = ctx.now();
  const meta = seenAt(payload.meta, t);
  const expiresAt = Math.min(t + ctx.idle, meta.absoluteExpiresAt);
  const sealed = seal(ctx, key, { data: payload.data, flash: payload.flash, meta });
  return { data: sealed, version, expiresAt, userId: meta.userId };
}

/** The forwarding record left under an old id for `regenerateGrace` ms. @internal */
export function forwardRecord(
  ctx: Context,
  oldKey: string,
  newKey: string,
  version: number,
): StoreRecord {
  const text = encodeRedirect(newKey);
  return {
    data: ctx.encrypt ? sealPayload(text, ctx.keys, oldKey) : text,
    version,
    expiresAt: ctx.now() + ctx.grace,
    userId: null,
  };
}

/**
 * Read and validate the record under store key `key`, following a grace forward; `undefined`
 * (with an event: `unknown-id`, `corrupt`, `decrypt-failure`, `expire`) when absent, unreadable
 * or expired. `unknown-id` names `client`'s address; with `guess` (the id came straight from the
 * request's cookie) it also counts as a failed guess (see `emitGuess`). Rejects with
 * `StoreError`. @internal
 */
export function readRecord(
  ctx: Context,
  key: string,
  client: SessionState['client'],
  guess: boolean,
): Promise<FoundRecord | undefined> {
  // Not an async function: every request with a cookie reads, and the usual record (no grace
  // forward) is opened in the one reaction on the store's promise.
  return storeGet(ctx, key).then((record) => {
    if (record === undefined) {
      const event = { type: 'unknown-id', handle: short(key), ip: client.ip } as const;
      if (guess) emitGuess(ctx, event);
      else emit(ctx, event);
      return undefined;
    }
    const text = unseal(ctx, key, record);
    // With a grace period a record may be a forward: the text decrypted once serves both.
    const target = ctx.grace > 0 && text !== undefined ? decodeRedirect(text) : undefined;
    if (target === undefined) return liveRecord(ctx, key, key, record, text);
    // Regenerate grace: the old id forwards, read-only, to the new record — until it expires.
    if (record.expiresAt <= ctx.now()) return undefined;
    return storeGet(ctx, target).then((found) =>
      found === undefined
        ? undefined
        : liveRecord(ctx, key, target, found, unseal(ctx, target, found), true),
    );
  });
}

/**
 * {@link readRecord}'s end: `record` (read under `recordKey`, decrypted to `text`) decoded and
 * checked live now; `undefined` — with an event, naming `key` — when it is not.
 */
function liveRecord(
  ctx: Context,
  key: string,
  recordKey: string,
  record: StoreRecord,
  text: string | undefined,
  forwarded?: true,
): FoundRecord | undefined {
  const payload = decodeOpened(ctx, recordKey, text);
  if (payload === undefined) return undefined;
  const t = ctx.now();
  if (payload.meta.absoluteExpiresAt <= t || record.expiresAt <= t) {
    const reason = payload.meta.absoluteExpiresAt <= t ? 'absolute' : 'idle';
    emit(ctx, { type: 'expire', handle: short(key), reason });
    return undefined;
  }
  return forwarded ? { record, payload, forwarded } : { record, payload };
}

/**
 * Re-encrypt every stored record under the primary key (see `SessionManager.reseal`). Throws
 * `ConfigError` without `encrypt` or without a store `ids`; rejects with `StoreError`. @internal
 */
export async function reseal(ctx: Context, options: ResealOptions): Promise<ResealResult> {
  const { store, keys } = ctx;
  if (!ctx.encrypt) throw new ConfigError('reseal() needs the manager option `encrypt: true`.');
  if (typeof store.ids !== 'function') {
    throw new ConfigError(`reseal() needs a store with \`ids\`; ${store.name} has none.`);
  }
  const result: ResealResult = { scanned: 0, resealed: 0, skipped: 0, unreadable: 0 };
  const primary = keys.ids[0];
  for await (const key of storeIds(ctx, options.signal)) {
    result.scanned++;
    const record = await storeGet(ctx, key);
    const opened = record && unsealPayload(record.data, keys, key);
    let text: string | undefined;
    // Revocation bookkeeping (generations, hashed handles: nothing secret) is not a session.
    if (
      record === undefined ||
      opened?.keyId === primary ||
      bookkeepingOf(record.data) !== undefined
    ) {
      result.skipped++;
    } else if (opened !== undefined) text = opened.text;
    else if (options.plaintext && decodePayload(record.data, ctx.limits)) text = record.data;
    else result.unreadable++;
    if (record !== undefined && text !== undefined) {
      const next = { ...record, data: sealPayload(text, keys, key), version: record.version + 1 };
      if (await storeSet(ctx, key, next, record.version)) result.resealed++;
      else result.skipped++;
    }
    options.onProgress?.(result.scanned);
  }
  return result;
}

/** Encode (and seal, when enabled) a payload for storage under `key`. */
function seal(ctx: Context, key: string, payload: SessionPayload): string {
  const text = encodePayload(payload, ctx.limits);
  return ctx.encrypt ? sealPayload(text, ctx.keys, key) : text;
}

/** Decrypt (when enabled) a record's data; `undefined` — with an event — when it fails. */
function unseal(ctx: Context, key: string, record: StoreRecord): string | undefined {
  if (!ctx.encrypt) return record.data;
  const text = unsealPayload(record.data, ctx.keys, key)?.text;
  if (text === undefined) emit(ctx, { type: 'decrypt-failure', handle: short(key) });
  return text;
}

/** Decode a record's decrypted text (`undefined`: decryption already failed and was reported). */
function decodeOpened(
  ctx: Context,
  key: string,
  text: string | undefined,
): SessionPayload | undefined {
  if (text === undefined) return undefined;
  const payload = decodePayload(text, ctx.limits);
  if (payload === undefined && decodeRedirect(text) === undefined) {
    emit(ctx, { type: 'corrupt', handle: short(key) });
  }
  return payload;
}
