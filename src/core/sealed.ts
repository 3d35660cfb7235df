/**
 * `sessionkit` — the sealed session token: a whole session (its claims and payload) encrypted
 * into one string, for `sessionkit/stores/cookie` (docs/security.md §11–§13).
 *
 * AES-256-GCM under the key ring's `cookie-seal` HKDF subkeys — derived once, when the manager is
 * made ({@link createSealKeys}) — with a random 96-bit IV per seal and a 16-byte tag. The token is
 * `<key id>.<iv>.<ciphertext‖tag>` (base64url parts). The key id only picks which key to try;
 * the AAD binds the format version, the purpose and that key id, so nothing outside the AEAD
 * selects a code path and a token sealed for another purpose or version never opens. Inside,
 * in the compact form of `sealed-text.ts`: the session id, `iat`, the idle deadline, the
 * absolute `exp`, the user generation and the payload; the lifecycle checks the times
 * (`stateless.ts`). Per seal: one CSPRNG draw amortised over 128 IVs, one cipher, one base64url
 * pass; per open: one base64url decode, one decipher, one `JSON.parse`.
 */

import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { CodecLimits, SessionPayload } from './codec.js';
import { detached } from './cookie.js';
import type { KeyRing } from './keys.js';
import { compactText, readCompact, type SealedClaims, type Unsealed } from './sealed-text.js';
import { share, TokenMemo } from './token-memo.js';

export type { SealedClaims, Unsealed } from './sealed-text.js';

/** Version of the sealed format written by this release (bound in the AAD, never sent). */
export const SEALED_FORMAT_VERSION = 1;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** base64url length of the 12-byte IV. */
const IV_CHARS = 16;
/** Smallest possible body: an empty plaintext's tag (22 base64url characters). */
const MIN_BODY_CHARS = 22;

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

/**
 * The AES-256-GCM codec over `keys` (the default of `cookieStore()`), remembering up to `memo`
 * recently sealed or opened tokens (`token-memo.ts`; `0`: none). @internal
 */
export function aeadCodec(keys: SealKeys, memo = 0): TokenCodec {
  const tokens = memo > 0 ? new TokenMemo(memo) : undefined;
  return {
    seal: (claims, payload, limits) => sealSession(keys, claims, payload, limits, tokens),
    open: (token, limits) => unsealSession(keys, token, limits, tokens),
  };
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

/** The options of every AES-GCM cipher: a 16-byte tag. */
const GCM = { authTagLength: TAG_BYTES } as const;

/** IVs are cut from this buffer, refilled from the CSPRNG once every 128 seals. */
const IV_POOL = Buffer.allocUnsafeSlow(IV_BYTES * 128);
let ivOffset = IV_POOL.length;

/**
 * A fresh random 96-bit IV, valid until the next call (the cipher and the token copy it at
 * once). The bytes come from `randomFillSync`, drawn 128 IVs at a time: one CSPRNG call instead of
 * one per seal (the same batching Node's `randomUUID` does), and no byte is ever handed out twice.
 */
function nextIv(): Buffer {
  if (ivOffset === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  ivOffset += IV_BYTES;
  return IV_POOL.subarray(ivOffset - IV_BYTES, ivOffset);
}

/**
 * Seal `payload` with `claims` under the primary key. The payload's `lastSeenAt` and
 * `absoluteExpiresAt` are not stored apart from the claims: they are `claims.iat` and
 * `claims.exp` (the lifecycle seals them so), and that is what opening gives back. Throws
 * `TooLargeError` (`ERR_SESSION_TOO_LARGE`) when the sealed text exceeds `limits.maxBytes`.
 * With `memo`, the token and its plaintext are remembered: presented again, it is not decrypted.
 * @internal
 */
export function sealSession(
  keys: SealKeys,
  claims: SealedClaims,
  payload: SessionPayload,
  limits: CodecLimits,
  memo?: TokenMemo,
): string {
  const text = compactText(claims, payload, limits);
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', keys.keys[0]!, iv, GCM);
  cipher.setAAD(keys.aad[0]!);
  const sealed = cipher.update(text, 'utf8');
  const tail = cipher.final(); // empty for GCM
  // One base64url pass over IV ‖ ciphertext ‖ tag: 12 bytes are exactly 16 characters, so the
  // IV's text ends where the body's begins.
  const b64 = Buffer.concat([iv, sealed, tail, cipher.getAuthTag()]).toString('base64url');
  const ivText = b64.slice(0, IV_CHARS);
  const token = `${keys.ids[0]}.${ivText}.${b64.slice(IV_CHARS)}`;
  memo?.sealed(ivText, token, claims.sid, text);
  return token;
}

/** base64url text: the IV (16 characters), a dot, the body. */
const IV_AND_BODY = /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/;

/**
 * Open a sealed token. Never throws: `'malformed'` for anything not shaped like a token this
 * release writes (wrong parts, unknown or removed key id, non-canonical base64url, too long),
 * `'signature'` when the AEAD does not authenticate (any flipped bit, another key, another purpose
 * or version), `'claims'` when it authenticates but its content is not a valid sealed session.
 * The caller bounds the token's length. With `memo`, a token it remembers (compared whole, in
 * constant time) is not decrypted again, and one that opens is remembered. @internal
 */
export function unsealSession(
  keys: SealKeys,
  token: string,
  limits: CodecLimits,
  memo?: TokenMemo,
): Unsealed | 'malformed' | 'signature' | 'claims' {
  const first = token.indexOf('.');
  const bodyAt = first + IV_CHARS + 2;
  if (first < 1 || token.length - bodyAt < MIN_BODY_CHARS) return 'malformed';
  const ivText = memo === undefined ? '' : token.slice(first + 1, first + 1 + IV_CHARS);
  const known = memo?.find(ivText, token);
  if (known !== undefined) {
    if (known.limits === limits) return known.opened!;
    const opened = readCompact(known.text, limits, known.keyIndex);
    return opened === undefined ? 'claims' : share(known, opened, limits);
  }
  const keyIndex = keys.ids.indexOf(token.slice(0, first));
  const bodyText = token.slice(bodyAt);
  if (
    keyIndex === -1 ||
    !IV_AND_BODY.test(token.slice(first + 1)) ||
    !canonicalEnd(bodyText) // the IV's 16 characters are always canonical
  ) {
    return 'malformed';
  }
  const body = Buffer.from(bodyText, 'base64url');
  let plain: Buffer;
  try {
    const iv = Buffer.from(token.slice(first + 1, first + 1 + IV_CHARS), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keys.keys[keyIndex]!, iv, GCM);
    decipher.setAAD(keys.aad[keyIndex]!);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plain = decipher.update(body.subarray(0, body.length - TAG_BYTES));
    const tail = decipher.final(); // throws unless the tag authenticates; empty for GCM
    if (tail.length > 0) plain = Buffer.concat([plain, tail]);
  } catch {
    return 'signature';
  }
  const text = plain.toString('utf8');
  const opened = readCompact(text, limits, keyIndex);
  if (opened === undefined) return 'claims';
  if (memo !== undefined) {
    // The presented token may be a slice of the request's header: keep a copy of its own.
    const kept = detached(token);
    memo.remember(
      kept.slice(first + 1, first + 1 + IV_CHARS),
      kept,
      keyIndex,
      text,
      opened,
      limits,
    );
  }
  return opened;
}

/**
 * `true` when base64url `text` (of valid characters) is the one encoding of its bytes: no
 * length that leaves a lone character, and zero bits below the last byte in its last character
 * (`Buffer.from` ignores them, so a changed last character could decode to the same bytes).
 */
function canonicalEnd(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = sextet(text.charCodeAt(text.length - 1));
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** The 6-bit value of a base64url character code. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26…51
  if (code >= 65) return code - 65; // A-Z: 0…25
  if (code >= 48) return code + 4; // 0-9: 52…61
  return code === 45 ? 62 : 63; // '-', '_'
}
