/**
 * `sessionkit` — the versioned payload codec: a session's payload (data, flash, metadata) ⇄ the
 * JSON text of its record, and the forwarding record of a regenerate grace period.
 *
 * Session data follows the JSON data rules of `data.ts` (docs/security.md §16): decoding bounds
 * its depth and copies it into frozen null-prototype containers without `__proto__` /
 * `constructor` / `prototype` keys (§15) — the data as it is read (`decoded.ts`); encoding bounds
 * its size. Encryption of the encoded text is `payload-seal.ts`.
 */

import {
  type DataObject,
  emptyObject,
  FORBIDDEN,
  hasNoKeys,
  jsonOrNull,
  nullObject,
} from './data.js';
import { DecodedPayload, openers, sanitize, within } from './decoded.js';
import { TooLargeError } from './errors.js';

// The data rules and payload encryption live in their own parts; importers of the codec keep
// finding them here.
export {
  type DataObject,
  emptyObject,
  getAt,
  parsePath,
  toSessionValue,
  toValueAt,
} from './data.js';
export { readAt } from './decoded.js';
export { sealPayload, unsealPayload } from './payload-seal.js';

/** Version of the payload envelope written by this release. */
export const PAYLOAD_FORMAT_VERSION = 1;

/** Metadata the core keeps for every session. Times are milliseconds since the epoch. */
export interface SessionMeta {
  /** When the session was created. */
  createdAt: number;
  /** Last request that used the session (recorded at most once per `touchInterval`). */
  lastSeenAt: number;
  /** The absolute deadline: activity never moves it. */
  absoluteExpiresAt: number;
  /** The signed-in user, if any; drives the per-user index. */
  userId: string | null;
  /** Client IP seen when the session was created or last regenerated. */
  ip: string | null;
  /** User-Agent seen when the session was created or last regenerated. */
  userAgent: string | null;
  /** `true` for a "remember me" cookie with Max-Age; `false` for a browser-session cookie. */
  persistent: boolean;
  /** The CSRF synchronizer secret (rotated on regenerate/login); `null` until first needed. */
  csrf: string | null;
  /**
   * Keyed hashes of the client's bound values (fingerprint binding), recorded with `ip` and
   * `userAgent`; opaque. `null` when binding was off.
   */
  fingerprint: string | null;
  /**
   * The user's revocation generation this session was signed in under (server-side stores): a
   * `revokeAll` of the user bumps it, and every session stamped older is revoked at once. `0`
   * for anonymous sessions, for sessions signed in before any `revokeAll`, and in records written
   * before this field existed.
   */
  generation: number;
}

/**
 * A copy of `meta` last seen at `t`, field by field: a spread (`{ ...meta, lastSeenAt }`) of a
 * frozen metadata object (as the token cache shares them) takes V8's slow clone path. @internal
 */
export function seenAt(meta: SessionMeta, t: number): SessionMeta {
  return {
    createdAt: meta.createdAt,
    lastSeenAt: t,
    absoluteExpiresAt: meta.absoluteExpiresAt,
    userId: meta.userId,
    ip: meta.ip,
    userAgent: meta.userAgent,
    persistent: meta.persistent,
    csrf: meta.csrf,
    fingerprint: meta.fingerprint,
    generation: meta.generation,
  };
}

/** A decoded session payload. */
export interface SessionPayload {
  data: DataObject;
  flash: DataObject;
  meta: SessionMeta;
}

/** Size and depth bounds of the codec. */
export interface CodecLimits {
  /** Largest encoded payload, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
}

/**
 * Encode a payload. Throws `TooLargeError` (`ERR_SESSION_TOO_LARGE`) above `limits.maxBytes`.
 */
export function encodePayload(payload: SessionPayload, limits: CodecLimits): string {
  // `JSON.stringify` of the whole envelope, written out around the data: the metadata's fields
  // are known (times and a generation are numbers, `persistent` a boolean, the rest strings or
  // `null`), and V8's serializer spent about three times as long on them as this does (it
  // formats every large time anew; a template literal uses the engine's number-string cache).
  const { data, flash, meta } = payload;
  const text = `{"v":${PAYLOAD_FORMAT_VERSION},"d":${JSON.stringify(data)},"f":${
    hasNoKeys(flash) ? '{}' : JSON.stringify(flash)
  },"m":{"createdAt":${meta.createdAt},"lastSeenAt":${meta.lastSeenAt},"absoluteExpiresAt":${
    meta.absoluteExpiresAt
  },"userId":${jsonOrNull(meta.userId)},"ip":${jsonOrNull(meta.ip)},"userAgent":${jsonOrNull(
    meta.userAgent,
  )},"persistent":${meta.persistent},"csrf":${jsonOrNull(meta.csrf)},"fingerprint":${jsonOrNull(
    meta.fingerprint,
  )},"generation":${meta.generation}}}`;
  return checkEncodedSize(text, limits);
}

/**
 * `text`, an encoded session, when it fits in `limits.maxBytes` (UTF-8); else throws
 * `TooLargeError` (`ERR_SESSION_TOO_LARGE`). @internal
 */
export function checkEncodedSize(text: string, limits: CodecLimits): string {
  // Cheap upper bound first: UTF-8 never uses more than 3 bytes per UTF-16 unit.
  if (text.length * 3 > limits.maxBytes) {
    const size = Buffer.byteLength(text);
    if (size > limits.maxBytes)
      throw new TooLargeError('The encoded session', size, limits.maxBytes);
  }
  return text;
}

/**
 * Decode a payload. Resolves `undefined` — never throws — for anything that is not a payload
 * this release wrote: wrong version, wrong shape, too large, too deep, invalid JSON. Its data is
 * copied as it is read (see {@link payloadFromJson}).
 */
export function decodePayload(text: string, limits: CodecLimits): SessionPayload | undefined {
  if (typeof text !== 'string' || text.length > limits.maxBytes) return undefined;
  let raw: unknown;
  try {
    // Plain JSON.parse (native, no reviver); the data is then copied into frozen null-prototype
    // containers as it is read: a JSON "__proto__" key is only ever an own property of the
    // parsed object, never assigned through, and is dropped.
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  // The data cannot nest deeper than the text has brackets, less the envelope's own three
  // (itself, `f` and `m`; brackets inside strings only raise the bound): when that is within
  // the limit, no walk is needed to check it.
  return payloadFromJson(raw, limits, openers(text) - 3 <= limits.maxDepth);
}

/**
 * The payload in a value fresh from `JSON.parse` (an envelope `{ v, d, f, m }`, other fields
 * ignored; the caller bounds the text's size before parsing, and hands the value over). Resolves
 * `undefined` — never throws — for a wrong version or shape, or nesting deeper than
 * `limits.maxDepth` (`shallow`: the caller knows the data is not). The metadata and flash are
 * checked and copied at once; the data is checked at once but copied into frozen null-prototype
 * containers (forbidden keys dropped) only as it is read, one top-level key at a time
 * ({@link readAt}; all of it on the first use of `data`).
 */
export function payloadFromJson(
  raw: unknown,
  limits: CodecLimits,
  shallow = false,
): SessionPayload | undefined {
  if (!isObject(raw)) return undefined;
  const { v, d, f, m } = raw;
  if (v !== PAYLOAD_FORMAT_VERSION || !isObject(m)) return undefined;
  if (!isObject(d) || !(shallow || within(d, limits.maxDepth, 1))) return undefined;
  const flash = flashFromJson(f, limits);
  const meta = flash === undefined ? undefined : readMeta(m);
  return meta === undefined ? undefined : new DecodedPayload(d, flash!, meta);
}

/**
 * A session's data and flash from values fresh from `JSON.parse` — `d` an object, `f` an object
 * of arrays — copied into frozen null-prototype containers without forbidden keys, all at once.
 * Resolves `undefined` — never throws — for a wrong shape or nesting deeper than
 * `limits.maxDepth`. @internal
 */
export function contentFromJson(
  d: unknown,
  f: unknown,
  limits: CodecLimits,
): { data: DataObject; flash: DataObject } | undefined {
  if (!isObject(d) || !within(d, limits.maxDepth, 1)) return undefined;
  const flash = flashFromJson(f, limits);
  return flash === undefined ? undefined : { data: sanitize(d) as DataObject, flash };
}

/** The flash `f` (an object of lists) copied, or `undefined` for a wrong shape or depth. */
function flashFromJson(f: unknown, limits: CodecLimits): DataObject | undefined {
  if (!isObject(f)) return undefined;
  let flash = NO_FLASH;
  for (const key in f) {
    const list = f[key];
    if (!Array.isArray(list)) return undefined;
    if (FORBIDDEN.has(key)) continue;
    if (!within(list, limits.maxDepth, 1)) return undefined;
    if (flash === NO_FLASH) flash = nullObject();
    flash[key] = sanitize(list);
  }
  return flash === NO_FLASH ? flash : Object.freeze(flash);
}

/** The flash of a payload that has none: shared, frozen. */
const NO_FLASH: DataObject = emptyObject();

function isObject(value: unknown): value is DataObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readMeta(m: DataObject): SessionMeta | undefined {
  return metaFromJson(
    m.createdAt,
    m.lastSeenAt,
    m.absoluteExpiresAt,
    m.userId,
    m.ip,
    m.userAgent,
    m.persistent,
    m.csrf ?? null,
    m.fingerprint ?? null,
    m.generation ?? 0,
  );
}

/**
 * Session metadata from its fields as parsed from JSON (any other encoding of it), or
 * `undefined` when one has the wrong type: times are numbers, `userId`, `ip`, `userAgent`,
 * `csrf` and `fingerprint` strings or `null`, `persistent` a boolean, `generation` a safe
 * integer. @internal
 */
export function metaFromJson(
  createdAt: unknown,
  lastSeenAt: unknown,
  absoluteExpiresAt: unknown,
  userId: unknown,
  ip: unknown,
  userAgent: unknown,
  persistent: unknown,
  csrf: unknown,
  fingerprint: unknown,
  generation: unknown,
): SessionMeta | undefined {
  if (
    typeof createdAt !== 'number' ||
    typeof lastSeenAt !== 'number' ||
    typeof absoluteExpiresAt !== 'number' ||
    !(userId === null || typeof userId === 'string') ||
    !(ip === null || typeof ip === 'string') ||
    !(userAgent === null || typeof userAgent === 'string') ||
    typeof persistent !== 'boolean' ||
    !(csrf === null || typeof csrf === 'string') ||
    !(fingerprint === null || typeof fingerprint === 'string') ||
    !Number.isSafeInteger(generation)
  ) {
    return undefined;
  }
  return {
    createdAt,
    lastSeenAt,
    absoluteExpiresAt,
    userId,
    ip,
    userAgent,
    persistent,
    csrf,
    fingerprint,
    generation: generation as number,
  };
}

/**
 * Encode the forwarding record left under an old id during a regenerate grace period: it names
 * the new record's store key (a hash, never a raw id).
 */
export function encodeRedirect(storeKey: string): string {
  return JSON.stringify({ v: PAYLOAD_FORMAT_VERSION, moved: storeKey });
}

/** The store key a forwarding record points to, or `undefined` when `text` is not one. */
export function decodeRedirect(text: string): string | undefined {
  if (!text.startsWith('{"v":1,"moved":')) return undefined;
  try {
    const { moved } = JSON.parse(text) as { moved?: unknown };
    return typeof moved === 'string' && /^[A-Za-z0-9_-]{43}$/.test(moved) ? moved : undefined;
  } catch {
    return undefined;
  }
}
