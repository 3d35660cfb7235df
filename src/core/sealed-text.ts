/**
 * `sessionkit` — what a sealed session token holds once decrypted: its claims and the session, as
 * text. The AES-GCM token (`sealed.ts`) holds the compact form, one JSON array
 * ({@link compactText}, {@link readCompact}); the JWT (`jwt.ts`) holds the object form in its
 * `sk` claim ({@link sealedText}, {@link claimsFromJson}). Both are checked the same way: a
 * session id, integer times, the idle deadline not after `exp`, and the session's own rules
 * (`codec.ts`).
 */

import {
  type CodecLimits,
  checkEncodedSize,
  contentFromJson,
  encodePayload,
  metaFromJson,
  payloadFromJson,
  type SessionPayload,
} from './codec.js';
import { hasNoKeys, jsonOrNull, jsonQuote } from './data.js';
import { isSessionId } from './keys.js';

/** What a sealed token asserts besides the payload. Times in ms since the epoch. */
export interface SealedClaims {
  /** The session id (43 base64url characters); its SHA-256 is the session's handle. */
  sid: string;
  /** When this token was sealed. */
  iat: number;
  /** The idle deadline: `iat + idleTimeout`, never after `exp`. */
  idle: number;
  /** The absolute deadline (the payload's `absoluteExpiresAt`). */
  exp: number;
  /** The user's revocation generation at seal time (`0` when not signed in or not tracked). */
  gen: number;
}

/** A token that opened. */
export interface Unsealed {
  claims: SealedClaims;
  payload: SessionPayload;
  /** Which key opened it: `0` the primary, `n > 0` an older key (re-seal under the primary). */
  keyIndex: number;
}

/**
 * The plaintext of an AES-GCM token: one JSON array, claims then metadata then data and flash —
 * `[sid, iat, idle − iat, exp − iat, gen, iat − createdAt, userId, ip, userAgent, persistent,
 * csrf, fingerprint, generation, data, flash]`. No key names, no time stored twice
 * (`lastSeenAt` is `iat`, `absoluteExpiresAt` is `exp`) and times after the first as offsets
 * (small integers parse fast): about half the size of the object form ({@link sealedText}), so
 * less to encrypt, encode, send and parse. Throws `TooLargeError` above `limits.maxBytes`.
 * @internal
 */
export function compactText(
  claims: SealedClaims,
  payload: SessionPayload,
  limits: CodecLimits,
): string {
  const { meta } = payload;
  const { iat } = claims;
  // The array written out by hand around the values that need a serializer: one
  // `JSON.stringify` of the whole array cost about three times the parts (the numbers are
  // integers and `persistent` a boolean, written as JSON writes them; strings go through
  // `jsonQuote`, the data through `JSON.stringify`; an empty flash is `{}`).
  return checkEncodedSize(
    `[${jsonQuote(claims.sid)},${iat},${claims.idle - iat},${claims.exp - iat},${claims.gen},${
      iat - meta.createdAt
    },${jsonOrNull(meta.userId)},${jsonOrNull(meta.ip)},${jsonOrNull(meta.userAgent)},${meta.persistent},${jsonOrNull(
      meta.csrf,
    )},${jsonOrNull(meta.fingerprint)},${meta.generation},${JSON.stringify(payload.data)},${
      hasNoKeys(payload.flash) ? '{}' : JSON.stringify(payload.flash)
    }]`,
    limits,
  );
}

/** Entries of the {@link compactText} array. */
const COMPACT_LENGTH = 15;

/**
 * The JSON text of a sealed session in object form, for the JWT's `sk` claim (`jwt.ts`): the
 * claims in front of the payload envelope's own fields, in one object. The session id is
 * base64url and the times are integers, so nothing needs escaping. Throws `TooLargeError` above
 * `limits.maxBytes`. @internal
 */
export function sealedText(
  claims: SealedClaims,
  payload: SessionPayload,
  limits: CodecLimits,
): string {
  return `{"s":"${claims.sid}","i":${claims.iat},"x":${claims.idle},"e":${claims.exp},"g":${claims.gen},${encodePayload(payload, limits).slice(1)}`;
}

/**
 * The claims and payload of an opened token's text ({@link compactText}), with the index of the
 * key that opened it, or `undefined` when they are not valid. @internal
 */
export function readCompact(
  text: string,
  limits: CodecLimits,
  keyIndex: number,
): Unsealed | undefined {
  if (text.length > limits.maxBytes) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw) || raw.length !== COMPACT_LENGTH) return undefined;
  const iat: unknown = raw[1];
  const idle: unknown = raw[2];
  const exp: unknown = raw[3];
  const age: unknown = raw[5];
  if (!isOffset(iat) || !isOffset(idle) || !isOffset(exp) || !isOffset(age)) return undefined;
  const claims = claimsOf(raw[0], iat, iat + idle, iat + exp, raw[4]);
  if (claims === undefined) return undefined;
  const meta = metaFromJson(
    iat - age,
    claims.iat,
    claims.exp,
    raw[6],
    raw[7],
    raw[8],
    raw[9],
    raw[10],
    raw[11],
    raw[12],
  );
  const content = meta === undefined ? undefined : contentFromJson(raw[13], raw[14], limits);
  if (content === undefined) return undefined;
  return { claims, payload: { data: content.data, flash: content.flash, meta: meta! }, keyIndex };
}

/** A time or a difference of times: a safe integer. */
function isOffset(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

/**
 * Valid claims: a session id, integer times, a generation of at least 0, the idle deadline not
 * after `exp`; else `undefined`.
 */
function claimsOf(
  sid: unknown,
  iat: unknown,
  idle: unknown,
  exp: unknown,
  gen: unknown,
): SealedClaims | undefined {
  if (
    !isSessionId(sid) ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(idle) ||
    !Number.isSafeInteger(exp) ||
    !Number.isSafeInteger(gen) ||
    (gen as number) < 0 ||
    (idle as number) > (exp as number)
  ) {
    return undefined;
  }
  return {
    sid,
    iat: iat as number,
    idle: idle as number,
    exp: exp as number,
    gen: gen as number,
  };
}

/**
 * The claims and payload of a parsed sealed text ({@link sealedText}), or `undefined` when they
 * are not valid: session id shape, integer times, the idle deadline not after `exp`, `exp` equal
 * to the payload's absolute deadline. @internal
 */
export function claimsFromJson(
  value: unknown,
  limits: CodecLimits,
): { claims: SealedClaims; payload: SessionPayload } | undefined {
  const raw = value as { s?: unknown; i?: unknown; x?: unknown; e?: unknown; g?: unknown };
  const payload = payloadFromJson(raw, limits);
  if (payload === undefined) return undefined;
  const claims = claimsOf(raw.s, raw.i, raw.x, raw.e, raw.g);
  return claims === undefined || claims.exp !== payload.meta.absoluteExpiresAt
    ? undefined
    : { claims, payload };
}
