/**
 * `sessionkit` — the versioned payload codec and the data rules.
 *
 * Session data is JSON data only (docs/security.md §16): null, booleans, finite numbers, strings,
 * arrays and plain objects, bounded in depth and encoded size. Containers have null prototypes
 * and are frozen, and `__proto__` / `constructor` / `prototype` keys are refused on the way in
 * and dropped on the way out (§15), so neither writes nor decoding can pollute a prototype.
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DataError, TooLargeError } from './errors.js';
import type { KeyRing } from './keys.js';

/** Version of the payload envelope written by this release. */
export const PAYLOAD_FORMAT_VERSION = 1;

/** A JSON object with a null prototype, as stored in a session. */
export type DataObject = { [key: string]: unknown };

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

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** An empty, frozen, null-prototype object. */
export function emptyObject(): DataObject {
  return Object.freeze(Object.create(null) as DataObject);
}

/**
 * Split and check a dot path (`'user.profile.name'`). Throws `DataError` (`ERR_SESSION_DATA`)
 * for an empty path, an empty segment, or a `__proto__` / `constructor` / `prototype` segment.
 */
export function parsePath(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DataError('A session key must be a non-empty string.');
  }
  const segments = path.split('.');
  for (const segment of segments) {
    if (segment.length === 0) throw new DataError(`Session key "${path}" has an empty segment.`);
    if (FORBIDDEN.has(segment)) {
      throw new DataError(`Session key segment "${segment}" is not allowed.`);
    }
  }
  return segments;
}

/**
 * Copy `value` into frozen, null-prototype session data. Throws `DataError` (`ERR_SESSION_DATA`)
 * for anything that is not JSON data: `undefined`, functions, symbols, bigint, non-finite
 * numbers, class instances (Date, Map, …), cycles, forbidden keys, or nesting deeper than
 * `maxDepth`.
 */
export function toSessionValue(value: unknown, maxDepth: number, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new DataError('Session data cannot hold NaN or Infinity.');
      return value;
    case 'object':
      break;
    default:
      throw new DataError(`Session data cannot hold a ${typeof value}; use JSON data only.`);
  }
  if (value === null) return null;
  if (depth >= maxDepth) throw new DataError(`Session data is nested deeper than ${maxDepth}.`);
  if (Array.isArray(value)) {
    const out = value.map((item) => {
      if (item === undefined) throw new DataError('Session arrays cannot hold undefined.');
      return toSessionValue(item, maxDepth, depth + 1);
    });
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new DataError(
      'Session data accepts plain objects only (no Date, Map or class instances).',
    );
  }
  if (proto === null && isSessionData(value, maxDepth, depth)) return value; // kept as it is
  const out = Object.create(null) as DataObject;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key)) throw new DataError(`Session data key "${key}" is not allowed.`);
    const item = (value as DataObject)[key];
    if (item === undefined) continue; // like JSON.stringify
    out[key] = toSessionValue(item, maxDepth, depth + 1);
  }
  return Object.freeze(out);
}

/**
 * `value` is already session data that fits at `depth`: frozen null-prototype objects and frozen
 * arrays all the way down, JSON values only, no forbidden key, within `maxDepth` counting the
 * levels above it. Walks without copying, so data read from the session and set again keeps its
 * identity; anything else (a hand-made frozen object holding a function, a mutable child, data
 * re-set below a path that makes it too deep) takes the copying path of {@link toSessionValue},
 * which refuses or copies it.
 */
function isSessionData(value: unknown, maxDepth: number, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= maxDepth || !Object.isFrozen(value)) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isSessionData(item, maxDepth, depth + 1)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== null) return false;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key) || !isSessionData((value as DataObject)[key], maxDepth, depth + 1)) {
      return false;
    }
  }
  return true;
}

/**
 * Copy `value` for storage at `path` of the session data (or, for a flash value, in the list at
 * `[key]`): {@link toSessionValue} with the path's own levels counted, so nothing is accepted
 * that the stored record could not decode. Throws `DataError` past `maxDepth` levels in all.
 */
export function toValueAt(path: readonly string[], value: unknown, maxDepth: number): unknown {
  if (path.length > maxDepth) {
    throw new DataError(`Session data is nested deeper than ${maxDepth}.`);
  }
  return toSessionValue(value, maxDepth, path.length);
}

/** Read the value at `segments` (undefined when any step is missing or not an object/array). */
export function getAt(root: DataObject, segments: readonly string[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (typeof node !== 'object' || node === null) return undefined;
    if (!Object.hasOwn(node, segment)) return undefined;
    node = (node as DataObject)[segment];
  }
  return node;
}

/**
 * Encode a payload. Throws `TooLargeError` (`ERR_SESSION_TOO_LARGE`) above `limits.maxBytes`.
 */
export function encodePayload(payload: SessionPayload, limits: CodecLimits): string {
  const text = JSON.stringify({
    v: PAYLOAD_FORMAT_VERSION,
    d: payload.data,
    f: payload.flash,
    m: payload.meta,
  });
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
 * this release wrote: wrong version, wrong shape, too large, too deep, invalid JSON.
 */
export function decodePayload(text: string, limits: CodecLimits): SessionPayload | undefined {
  if (typeof text !== 'string' || text.length > limits.maxBytes) return undefined;
  let raw: unknown;
  try {
    // Plain JSON.parse (native, no reviver) and then one pass that copies into frozen
    // null-prototype containers, drops forbidden keys and bounds the depth: a JSON "__proto__"
    // key is only ever an own property of the parsed object, never assigned through.
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  return payloadFromJson(raw, limits);
}

/**
 * The payload in a value fresh from `JSON.parse` (an envelope `{ v, d, f, m }`, other fields
 * ignored), copied into frozen null-prototype containers. Resolves `undefined` — never throws —
 * for a wrong version or shape, or nesting deeper than `limits.maxDepth`. The caller bounds the
 * text's size before parsing.
 */
export function payloadFromJson(raw: unknown, limits: CodecLimits): SessionPayload | undefined {
  try {
    if (!isObject(raw)) return undefined;
    const { v, d, f, m } = raw;
    if (v !== PAYLOAD_FORMAT_VERSION || !isObject(d) || !isObject(f) || !isObject(m)) {
      return undefined;
    }
    const data = sanitize(d, limits.maxDepth, 1) as DataObject;
    const flash = Object.create(null) as DataObject;
    for (const key in f) {
      const list = f[key];
      if (!Array.isArray(list)) return undefined;
      if (!FORBIDDEN.has(key)) flash[key] = sanitize(list, limits.maxDepth, 1);
    }
    const meta = readMeta(m);
    return meta === undefined ? undefined : { data, flash: Object.freeze(flash), meta };
  } catch {
    return undefined; // nested deeper than maxDepth
  }
}

/** Copy parsed JSON into frozen null-prototype containers; throws past `maxDepth` levels. */
function sanitize(value: unknown, maxDepth: number, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > maxDepth) throw new RangeError('too deep');
  if (Array.isArray(value)) {
    // Arrays fresh from JSON.parse are ours to fill in place.
    for (let i = 0; i < value.length; i++) value[i] = sanitize(value[i], maxDepth, depth + 1);
    return Object.freeze(value);
  }
  const out = Object.create(null) as DataObject;
  for (const key in value) {
    if (!FORBIDDEN.has(key)) out[key] = sanitize((value as DataObject)[key], maxDepth, depth + 1);
  }
  return Object.freeze(out);
}

function isObject(value: unknown): value is DataObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readMeta(m: DataObject): SessionMeta | undefined {
  const { createdAt, lastSeenAt, absoluteExpiresAt, userId, ip, userAgent, persistent } = m;
  const csrf = m.csrf ?? null;
  const fingerprint = m.fingerprint ?? null;
  const generation = m.generation ?? 0;
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

const SEAL_VERSION = 'sk1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

// AAD binds the envelope version, the key id, the purpose and the record's store key, so a
// ciphertext copied under another session's key (or replayed as another purpose) fails to open
// (docs/security.md §11).
function sealAad(kid: string, storeKey: string): Buffer {
  return Buffer.from(`sessionkit/${SEAL_VERSION}\0payload-encrypt\0${kid}\0${storeKey}`);
}

/**
 * Encrypt an encoded payload for storage under `storeKey` with the ring's primary key:
 * AES-256-GCM, a random 96-bit IV per call, a 16-byte tag, as
 * `sk1.<key id>.<iv>.<ciphertext‖tag>` (base64url parts).
 */
export function sealPayload(text: string, ring: KeyRing, storeKey: string): string {
  const kid = ring.ids[0]!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.primary('payload-encrypt'), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(sealAad(kid, storeKey));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEAL_VERSION}.${kid}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/**
 * Open a sealed payload. Resolves `undefined` — never throws, never falls back to plaintext — for
 * anything that does not authenticate: unknown or removed key id, wrong store key, wrong IV or
 * tag length, any flipped bit. `keyId` tells which key opened it (re-seal when not the primary).
 */
export function unsealPayload(
  data: string,
  ring: KeyRing,
  storeKey: string,
): { text: string; keyId: string } | undefined {
  const parts = data.split('.');
  if (parts.length !== 4 || parts[0] !== SEAL_VERSION) return undefined;
  const [, kid, ivText, bodyText] = parts as [string, string, string, string];
  const index = ring.ids.indexOf(kid);
  if (index === -1) return undefined;
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return undefined;
  if (iv.toString('base64url') !== ivText || body.toString('base64url') !== bodyText)
    return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', ring.all('payload-encrypt')[index]!, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(sealAad(kid, storeKey));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return { text: plain.toString('utf8'), keyId: kid };
  } catch {
    return undefined;
  }
}
