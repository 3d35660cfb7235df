/**
 * `sessionkit` — ids, hashing, the key ring and timing-safe comparison.
 *
 * Session ids are 256 bits from the CSPRNG, base64url (43 chars) — docs/security.md §1. Stores only
 * ever see `base64url(SHA-256(id))` — §3. Cookie values are signed with HMAC-SHA-256 under a
 * per-purpose subkey derived by HKDF from the primary secret; older secrets only verify — §12.
 */

import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './errors.js';
import { createMac, type Mac, prefixViews, sha256 } from './sha256.js';

/** Length of a session id in characters: 32 random bytes in base64url. */
export const SESSION_ID_LENGTH = 43;

/** Minimum length of a secret, in bytes (UTF-8 for strings). */
export const MIN_SECRET_BYTES = 32;

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Generate a fresh session id: 32 bytes from the CSPRNG, base64url, 43 characters. */
export function generateSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * `true` when `value` has the exact shape of a session id (43 base64url characters). Anything
 * else is rejected before it reaches a key, path or query.
 */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** The store key of a session id: `base64url(SHA-256(id))`. A dump of the store yields no cookie. */
export function hashSessionId(id: string): string {
  return sha256(id, 'base64url');
}

/**
 * Compare two strings in constant time (for their common length). A length mismatch is a clean
 * `false`, not an exception.
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  // Strings of up to SCRATCH_UNITS units are compared as UTF-8 in one preallocated buffer, through
  // views made once per byte length (a signature or token comes in one length): no Buffer per call.
  const short = a.length <= SCRATCH_UNITS && b.length <= SCRATCH_UNITS;
  const ab = short ? LEFT(SCRATCH.write(a, 0, 'utf8')) : Buffer.from(a);
  const bb = short ? RIGHT(SCRATCH.write(b, HALF, 'utf8')) : Buffer.from(b);
  if (ab.length !== bb.length) {
    // Still spend the comparison so a length probe learns nothing beyond the length.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** The longest string, in UTF-16 units, {@link timingSafeEqualString} compares in its scratch. */
const SCRATCH_UNITS = 256;
/** One operand's half of the scratch: 3 UTF-8 bytes at most per unit. */
const HALF = SCRATCH_UNITS * 3;
const SCRATCH = Buffer.alloc(HALF * 2);
/** Views of each half by byte length, made on first use. */
const LEFT = prefixViews(SCRATCH, 0);
const RIGHT = prefixViews(SCRATCH, HALF);

/** One secret in a key ring. */
export interface SecretInput {
  /** Short identifier (letters, digits, `-`, `_`; at most 16). Defaults to the position. */
  id?: string;
  /** At least 32 bytes of high-entropy secret: a string (UTF-8) or raw bytes. */
  secret: string | Uint8Array;
}

/** What the `secrets` option accepts: the first entry is the primary. */
export type SecretsOption = string | Uint8Array | ReadonlyArray<string | Uint8Array | SecretInput>;

/** Purposes for which subkeys are derived (HKDF `info`). */
export type KeyPurpose =
  | 'cookie-sign'
  | 'payload-encrypt'
  | 'cookie-seal'
  | 'hybrid-seal'
  | 'jwt'
  | 'csrf'
  | 'fingerprint'
  | 'store-key';

/** A key ring: one primary that signs, older keys that only verify. */
export interface KeyRing {
  /** Ids of the secrets, primary first. */
  readonly ids: readonly string[];
  /** The derived subkey of the primary secret for `purpose` (cached). */
  primary(purpose: KeyPurpose): Uint8Array;
  /** Derived subkeys of every secret, primary first (cached). */
  all(purpose: KeyPurpose): readonly Uint8Array[];
  /** Sign `value`: base64url HMAC-SHA-256 under the primary's `purpose` subkey. */
  sign(purpose: KeyPurpose, value: string): string;
  /** Verify a signature made by any key in the ring, in constant time. */
  verify(purpose: KeyPurpose, value: string, signature: string): boolean;
  /**
   * Like `verify`, but resolves which key matched: `0` the primary, `n > 0` an older key (re-sign
   * with the primary), `-1` none.
   */
  verifyIndex(purpose: KeyPurpose, value: string, signature: string): number;
}

// Secrets that appear in tutorials and READMEs; refused whatever their length
// (docs/security.md §12).
const KNOWN_WEAK = [
  'keyboard cat',
  'secret',
  'changeme',
  'change-me',
  'password',
  'your-secret',
  'supersecret',
  'demo',
  'example',
];

/**
 * Build a key ring from the `secrets` option. Throws `ConfigError` (`ERR_SESSION_CONFIG`) when
 * `secrets` is not a string, bytes or a non-empty array; when an element is missing (`undefined`,
 * e.g. an unset environment variable), empty, not a string/bytes/`{ id?, secret }`, shorter than
 * 32 bytes, or looks low-entropy or like a demo value; when an `id` is malformed; or when two ids
 * repeat. Messages name the element index and the fix, never the secret. Generate a good secret
 * with `npx sessionkit keygen` or {@link generateSecret}.
 */
export function createKeyRing(secrets: SecretsOption): KeyRing {
  const list = normalizeSecrets(secrets);
  const ids = list.map((s) => s.id);
  const cache = new Map<KeyPurpose, Buffer[]>();
  const all = (purpose: KeyPurpose): Buffer[] => {
    let keys = cache.get(purpose);
    if (keys === undefined) {
      keys = list.map((s) => derive(s.bytes, purpose));
      cache.set(purpose, keys);
    }
    return keys;
  };
  // One prepared HMAC per key and purpose (sha256.ts): no Hmac object per signature.
  const macCache = new Map<KeyPurpose, Mac[]>();
  const macs = (purpose: KeyPurpose): Mac[] => {
    let list = macCache.get(purpose);
    if (list === undefined) {
      list = all(purpose).map((key) => createMac(key));
      macCache.set(purpose, list);
    }
    return list;
  };
  return {
    ids,
    primary: (purpose) => all(purpose)[0]!,
    all,
    sign: (purpose, value) => macs(purpose)[0]!(value, 'base64url'),
    verify(purpose, value, signature) {
      return this.verifyIndex(purpose, value, signature) !== -1;
    },
    verifyIndex(purpose, value, signature) {
      let match = -1;
      // Try every key without short-circuiting, so timing does not tell which key matched.
      macs(purpose).forEach((mac, index) => {
        const expected = mac(value, 'base64url');
        if (timingSafeEqualString(expected, signature) && match === -1) match = index;
      });
      return match;
    },
  };
}

/** A fresh secret for the `secrets` option: 32 random bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

interface NormalizedSecret {
  id: string;
  bytes: Buffer;
}

const SECRET_FIX = 'Generate one with `npx sessionkit keygen` or `generateSecret()`.';
const SECRET_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;

// Validation is total: any input, however malformed, ends in a ConfigError naming where it is,
// never a TypeError from reading a property of `undefined`. Values are described by kind only.
function normalizeSecrets(secrets: unknown): NormalizedSecret[] {
  const input = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets;
  if (!Array.isArray(input)) {
    throw new ConfigError(
      `Option \`secrets\` must be a string, bytes, or an array of them (primary first); it ${kindOf(secrets)}. ${SECRET_FIX}`,
    );
  }
  if (input.length === 0) {
    throw new ConfigError(
      `Option \`secrets\` needs at least one secret of ${MIN_SECRET_BYTES}+ random bytes; the array is empty. ${SECRET_FIX}`,
    );
  }
  const list = input.map((entry: unknown, index: number) => normalizeSecret(entry, index));
  const seen = new Map<string, number>();
  list.forEach(({ id }, index) => {
    const first = seen.get(id);
    if (first !== undefined) {
      throw new ConfigError(
        `Option \`secrets\`: \`secrets[${first}]\` and \`secrets[${index}]\` have the same id; ids must be unique (an element without \`id\` uses its index).`,
      );
    }
    seen.set(id, index);
  });
  return list;
}

function normalizeSecret(entry: unknown, index: number): NormalizedSecret {
  const at = `Option \`secrets[${index}]\``;
  if (entry === undefined || entry === '') {
    // The README's `secrets: [process.env.SESSION_SECRET!]` lands here when the variable is unset.
    throw new ConfigError(
      `${at} ${entry === undefined ? 'is undefined' : 'is empty'}; if it comes from an environment variable, is that variable set? ${SECRET_FIX}`,
    );
  }
  if (typeof entry === 'string' || entry instanceof Uint8Array) {
    return { id: String(index), bytes: checkedBytes(entry, at) };
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(
      `${at} ${kindOf(entry)}; expected a string, bytes, or \`{ id?, secret }\`. ${SECRET_FIX}`,
    );
  }
  const { id = String(index), secret } = entry as { id?: unknown; secret?: unknown };
  if (typeof id !== 'string' || !SECRET_ID_PATTERN.test(id)) {
    throw new ConfigError(
      `Option \`secrets[${index}].id\` must be 1–16 letters, digits, "-" or "_"; it ${kindOf(id, 'is malformed')}.`,
    );
  }
  if (secret === undefined) {
    throw new ConfigError(
      `${at} has no \`secret\`; if it comes from an environment variable, is that variable set? ${SECRET_FIX}`,
    );
  }
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new ConfigError(
      `${at}: \`secret\` ${kindOf(secret)}; expected a string or bytes. ${SECRET_FIX}`,
    );
  }
  if (secret.length === 0) {
    throw new ConfigError(`${at}: \`secret\` is empty. ${SECRET_FIX}`);
  }
  return { id, bytes: checkedBytes(secret, at) };
}

function checkedBytes(secret: string | Uint8Array, at: string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length === 0) throw new ConfigError(`${at} is empty. ${SECRET_FIX}`);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `${at} is ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are required. ${SECRET_FIX}`,
    );
  }
  const text = bytes.toString('latin1').toLowerCase();
  const distinct = new Set(bytes).size;
  // A secret made only of repeats of a demo value starts with it too: one test covers both.
  const weak = KNOWN_WEAK.some((w) => text.startsWith(w));
  if (distinct < 8 || weak) {
    throw new ConfigError(`${at} looks like a weak or demo secret and is refused. ${SECRET_FIX}`);
  }
  return bytes;
}

/** What kind of value `value` is, for messages — never the value itself. */
function kindOf(value: unknown, otherwise?: string): string {
  if (value === undefined) return 'is undefined';
  if (value === null) return 'is null';
  if (Array.isArray(value)) return 'is an array';
  if (otherwise !== undefined && typeof value === 'string') return otherwise;
  const kind = typeof value;
  return `is ${kind === 'object' ? 'an' : 'a'} ${kind}`;
}

function derive(secret: Buffer, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'sessionkit/v1', `sessionkit ${purpose}`, 32));
}

/** A fresh CSRF synchronizer secret: 32 random bytes, base64url. */
export function generateCsrfSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Mask a CSRF secret for one response: `base64url(pad ‖ (pad ⊕ secret))` with a fresh random pad,
 * so the token differs on every response and compression side channels (BREACH) learn nothing.
 */
export function maskCsrfToken(secret: string): string {
  const raw = Buffer.from(secret, 'base64url');
  const pad = randomBytes(raw.length);
  const out = Buffer.alloc(raw.length * 2);
  pad.copy(out, 0);
  for (let i = 0; i < raw.length; i++) out[raw.length + i] = pad[i]! ^ raw[i]!;
  return out.toString('base64url');
}

/**
 * `true` when `token` is a masking of `secret`. Compares in constant time; any malformed or
 * mis-sized token is a clean `false`, never an exception.
 */
export function verifyCsrfToken(secret: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) {
    return false;
  }
  const raw = Buffer.from(secret, 'base64url');
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== raw.length * 2 || raw.length === 0) return false;
  const unmasked = Buffer.alloc(raw.length);
  for (let i = 0; i < raw.length; i++) unmasked[i] = bytes[i]! ^ bytes[raw.length + i]!;
  return timingSafeEqual(unmasked, raw);
}
