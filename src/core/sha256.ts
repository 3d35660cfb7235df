/**
 * `sessionkit` — SHA-256 and HMAC-SHA-256 on the hot path, without a `Hash` or `Hmac` object per
 * call.
 *
 * Every request with a cookie verifies one HMAC and hashes one id into its store key. Node's
 * `createHmac` and `createHash` build a JavaScript object and an OpenSSL context per call (and
 * `createHmac` schedules the key each time); `crypto.hash` (Node ≥ 20.12) is one native call.
 * HMAC is computed here as RFC 2104 defines it, `H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))`, with both
 * padded keys prepared once per key: two one-shot hashes per MAC, about half the cost of
 * `createHmac`. The output is byte-for-byte `createHmac('sha256', key)`'s (test/core/sha256.test.ts
 * checks both paths against it); on a Node without `crypto.hash` both functions fall back to
 * `createHash` / `createHmac`.
 */

import * as crypto from 'node:crypto';

/** SHA-256's block size: keys are padded (or first hashed) to it. */
const BLOCK = 64;
/** The largest message, in UTF-16 units, the prepared buffer takes (3 UTF-8 bytes per unit). */
const MAX_FAST_UNITS = 256;

/** `crypto.hash` where this Node has it (≥ 20.12, ≥ 21.7). @internal */
export type OneShot = typeof crypto.hash;

const ONE_SHOT: OneShot | undefined = (crypto as { hash?: OneShot }).hash;

/** The encodings a digest is returned in. */
export type DigestEncoding = 'base64url' | 'base64' | 'hex';

/**
 * `SHA-256(text)` in `encoding` (text as UTF-8). `oneShot` is for tests: `null` selects the
 * fallback (a `Hash` object), as on a Node without `crypto.hash`.
 */
export function sha256(
  text: string,
  encoding: DigestEncoding,
  oneShot: OneShot | null = ONE_SHOT ?? null,
): string {
  return oneShot === null
    ? crypto.createHash('sha256').update(text).digest(encoding)
    : oneShot('sha256', text, encoding);
}

/** An HMAC-SHA-256 under one fixed key: `mac(value, encoding)`. */
export type Mac = (value: string, encoding: DigestEncoding) => string;

/**
 * Prepare HMAC-SHA-256 under `key` (bytes, or a string as UTF-8; any length — a key longer than
 * 64 bytes is hashed first, as RFC 2104 says). The returned function computes
 * `createHmac('sha256', key).update(value).digest(encoding)`, not reentrant (synchronous, so no
 * two calls interleave). `oneShot` is for tests: `null` selects the fallback path.
 */
export function createMac(
  key: string | Uint8Array,
  oneShot: OneShot | null = ONE_SHOT ?? null,
): Mac {
  let bytes = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
  if (oneShot === null) {
    const copy = bytes;
    return (value, encoding) => crypto.createHmac('sha256', copy).update(value).digest(encoding);
  }
  if (bytes.length > BLOCK) bytes = oneShot('sha256', bytes, 'buffer');
  // inner = (K ⊕ ipad) ‖ message; outer = (K ⊕ opad) ‖ H(inner). Both pads are written once.
  const inner = Buffer.alloc(BLOCK + MAX_FAST_UNITS * 3, 0x36);
  const outer = Buffer.alloc(BLOCK + 32, 0x5c);
  for (let i = 0; i < bytes.length; i++) {
    inner[i] = bytes[i]! ^ 0x36;
    outer[i] = bytes[i]! ^ 0x5c;
  }
  bytes.fill(0);
  const innerOf = prefixViews(inner, 0);
  return (value, encoding) => {
    if (value.length > MAX_FAST_UNITS) {
      // Rare (ids and tokens are short): the same MAC through an Hmac object.
      const padded = inner.subarray(0, BLOCK).map((b) => b ^ 0x36);
      return crypto.createHmac('sha256', padded).update(value).digest(encoding);
    }
    const length = inner.write(value, BLOCK, 'utf8');
    // The inner digest crosses as a latin1 string ('binary': one character per byte), not a Buffer.
    outer.write(oneShot('sha256', innerOf(BLOCK + length), 'binary'), BLOCK, 'latin1');
    return oneShot('sha256', outer, encoding);
  };
}

/**
 * Views of `buffer` from `offset`, one per length, made on first use and kept (ids, tokens and
 * signatures come in one or two lengths): a hot path that writes into a preallocated buffer reads
 * it back without a Buffer object per call. @internal
 */
export function prefixViews(buffer: Buffer, offset: number): (length: number) => Buffer {
  const views: Buffer[] = [];
  return (length) => {
    let view = views[length];
    if (view === undefined) {
      view = buffer.subarray(offset, offset + length);
      views[length] = view;
    }
    return view;
  };
}
