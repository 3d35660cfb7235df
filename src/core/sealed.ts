/**
 * `sessionkit` — the sealed session token: a whole session (its claims and payload) encrypted
 * into one string, for `sessionkit/stores/cookie` (docs/security.md §11–§13).
 *
 * AES-256-GCM under the key ring's `cookie-seal` HKDF subkeys — derived once, when the manager is
 * made ({@link createSealKeys}) — with a random 96-bit IV per seal and a 16-byte tag. The token is
 * `<key id>.<iv>.<ciphertext‖tag>` (base64url parts). The key id only picks which key to try;
 * the AAD binds the format version, the purpose and that key id, so nothing outside the AEAD
 * selects a code path and a token sealed for another purpose or version never opens. Inside:
 * the session id, `iat`, the idle deadline, the absolute `exp`, the user generation and the
 * payload; the lifecycle checks the times (`stateless.ts`).
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type CodecLimits, encodePayload, payloadFromJson, type SessionPayload } from './codec.js';
import { isSessionId, type KeyRing } from './keys.js';

/** Version of the sealed format written by this release (bound in the AAD, never sent). */
export const SEALED_FORMAT_VERSION = 1;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** base64url length of the 12-byte IV. */
const IV_CHARS = 16;
/** Smallest possible body: an empty plaintext's tag (22 base64url characters). */
const MIN_BODY_CHARS = 22;
const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The `cookie-seal` keys of a ring, ready to use: primary first. Raw bytes rather than
 * `KeyObject`s: Node's `createCipheriv` takes about 7 µs longer per call with a `KeyObject` (a
 * third of a sealed read). @internal
 */
export interface SealKeys {
  readonly ids: readonly string[];
  readonly keys: readonly Uint8Array[];
  /** The AAD of each key: format version, purpose and key id. */
  readonly aad: readonly Uint8Array[];
}

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

/** Why a token did not open (see {@link unsealSession}). */
export type OpenFailure = 'malformed' | 'signature' | 'claims';

/**
 * How sealed sessions become tokens and back: AES-GCM here ({@link aeadCodec}), or a signed JWT
 * (`jwt.ts`). `open` never throws (nor rejects): anything that is not a valid token is an
 * {@link OpenFailure}. @internal
 */
export interface TokenCodec {
  seal(
    claims: SealedClaims,
    payload: SessionPayload,
    limits: CodecLimits,
  ): string | Promise<string>;
  open(
    token: string,
    limits: CodecLimits,
    now: number,
  ): Unsealed | OpenFailure | Promise<Unsealed | OpenFailure>;
}

/** The AES-256-GCM codec over `keys` (the default of `cookieStore()`). @internal */
export function aeadCodec(keys: SealKeys): TokenCodec {
  return {
    seal: (claims, payload, limits) => sealSession(keys, claims, payload, limits),
    open: (token, limits) => unsealSession(keys, token, limits),
  };
}

/** A token that opened. */
export interface Unsealed {
  claims: SealedClaims;
  payload: SessionPayload;
  /** Which key opened it: `0` the primary, `n > 0` an older key (re-seal under the primary). */
  keyIndex: number;
}

/**
 * Derive the seal keys of every secret in `ring`, once: `cookie-seal` for `cookieStore()`,
 * `hybrid-seal` for the stateless side of `hybridStore()` — the purpose is both the HKDF info and
 * part of the AAD, so a token of one never opens as the other. The HKDF work happens here, at
 * startup, so sealing and opening cost one AES-GCM operation each. @internal
 */
export function createSealKeys(
  ring: KeyRing,
  purpose: 'cookie-seal' | 'hybrid-seal' = 'cookie-seal',
): SealKeys {
  const derived = ring.all(purpose);
  return {
    ids: ring.ids,
    keys: derived,
    aad: ring.ids.map((id) =>
      Buffer.from(`sessionkit/sealed-v${SEALED_FORMAT_VERSION}\0${purpose}\0${id}`),
    ),
  };
}

/**
 * Seal `payload` with `claims` under the primary key. Throws `TooLargeError`
 * (`ERR_SESSION_TOO_LARGE`) when the payload exceeds `limits.maxBytes`. @internal
 */
export function sealSession(
  keys: SealKeys,
  claims: SealedClaims,
  payload: SessionPayload,
  limits: CodecLimits,
): string {
  const text = sealedText(claims, payload, limits);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.keys[0]!, iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(keys.aad[0]!);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${keys.ids[0]}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/**
 * The JSON text of a sealed session: the claims in front of the payload envelope's own fields, in
 * one object. The session id is base64url and the times are integers, so nothing needs escaping.
 * Throws `TooLargeError` above `limits.maxBytes`. @internal
 */
export function sealedText(
  claims: SealedClaims,
  payload: SessionPayload,
  limits: CodecLimits,
): string {
  return `{"s":"${claims.sid}","i":${claims.iat},"x":${claims.idle},"e":${claims.exp},"g":${claims.gen},${encodePayload(payload, limits).slice(1)}`;
}

/**
 * Open a sealed token. Never throws: `'malformed'` for anything not shaped like a token this
 * release writes (wrong parts, unknown or removed key id, non-canonical base64url, too long),
 * `'signature'` when the AEAD does not authenticate (any flipped bit, another key, another purpose
 * or version), `'claims'` when it authenticates but its content is not a valid sealed session.
 * The caller bounds the token's length. @internal
 */
export function unsealSession(
  keys: SealKeys,
  token: string,
  limits: CodecLimits,
): Unsealed | 'malformed' | 'signature' | 'claims' {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 1 || second - first - 1 !== IV_CHARS || token.length - second - 1 < MIN_BODY_CHARS) {
    return 'malformed';
  }
  const keyIndex = keys.ids.indexOf(token.slice(0, first));
  const ivText = token.slice(first + 1, second);
  const bodyText = token.slice(second + 1);
  if (keyIndex === -1 || !B64URL.test(ivText) || !B64URL.test(bodyText)) return 'malformed';
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  // One encoding per token: a non-canonical final character would decode to the same bytes.
  if (body.toString('base64url') !== bodyText || iv.toString('base64url') !== ivText) {
    return 'malformed';
  }
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.keys[keyIndex]!, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(keys.aad[keyIndex]!);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    text = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return 'signature';
  }
  const opened = readSealed(text, limits);
  return opened === undefined ? 'claims' : { ...opened, keyIndex };
}

/** The claims and payload of an opened token's text, or `undefined` when they are not valid. */
function readSealed(
  text: string,
  limits: CodecLimits,
): { claims: SealedClaims; payload: SessionPayload } | undefined {
  if (text.length > limits.maxBytes) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  return claimsFromJson(raw, limits);
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
  const { s: sid, i: iat, x: idle, e: exp, g: gen } = raw;
  if (
    !isSessionId(sid) ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(idle) ||
    !Number.isSafeInteger(exp) ||
    !Number.isSafeInteger(gen) ||
    (gen as number) < 0 ||
    (idle as number) > (exp as number) ||
    exp !== payload.meta.absoluteExpiresAt
  ) {
    return undefined;
  }
  return {
    claims: {
      sid,
      iat: iat as number,
      idle: idle as number,
      exp: exp as number,
      gen: gen as number,
    },
    payload,
  };
}
