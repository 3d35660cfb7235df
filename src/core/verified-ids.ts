/**
 * `sessionkit` — the memo of verified session cookies: the cookie values (`<id>.<signature>`,
 * `cookie-value.ts`) this process recently found signed by its key ring, with the store key of
 * each id, so that a client presenting the same cookie again costs neither the HMAC check nor the
 * SHA-256 of its id.
 *
 * A browser presents the same session cookie on every request until the session rotates. Checking
 * it costs one HMAC-SHA-256 per key of the ring, a constant-time comparison and, for the store
 * key, one SHA-256 of the id — about a seventh of the instructions of a whole write request on
 * the memory store (`bench/express-measure.ts`, docs/benchmarks.md). The memo caches that pure
 * part only: the record is read, its deadlines, revocation and fingerprint checked, on every
 * request as before.
 *
 * It remembers only values that verified: an entry is made after the ring accepted the value, so
 * a forged cookie never enters it (whoever fills it must hold cookies the server issued). A
 * presented value is looked up by its id and then its signature is compared whole, in constant
 * time, with the remembered one; any other signature, however close, takes the full check, which
 * refuses it. The memo belongs to one manager (one key ring): `stale` — signed by an older secret,
 * re-issued under the primary — stays true for the entry's life, as the full check would say.
 * Bounded: at most `capacity` entries in two generations (the older is dropped whole when the
 * younger fills; a hit in the older moves the entry back). Kept strings are copies, never slices
 * of a request's `Cookie` header (which would keep the whole header alive).
 *
 * The express-session facade keeps one per middleware for its `s:<id>.<signature>` cookies
 * (`express-session/_middleware.ts`): the same rules, ids of the app's `genid` length.
 */

import { detached } from './cookie.js';
import { SESSION_ID_LENGTH } from './keys.js';

/** Entries a manager's memo keeps: two generations of 5 000 (a few hundred bytes each). */
export const VERIFIED_IDS_CAPACITY = 10_000;

const DOT = 46;

/** A verified cookie value, as remembered. @internal */
export interface VerifiedId {
  /** The session id. */
  readonly id: string;
  /** The signature the ring accepted, compared in constant time with a presented one. */
  readonly signature: string;
  /** Signed by an older secret (the cookie is re-issued under the primary). */
  readonly stale: boolean;
  /** The id's store key, `base64url(SHA-256(id))`. */
  readonly key: string;
}

/** The verified cookie values of one manager, by id. @internal */
export class VerifiedIds {
  #young = new Map<string, VerifiedId>();
  #old = new Map<string, VerifiedId>();
  /** Entries per generation. */
  readonly #half: number;

  /** A memo of at most `capacity` (≥ 2) values. */
  constructor(capacity: number = VERIFIED_IDS_CAPACITY) {
    this.#half = Math.max(1, Math.floor(capacity / 2));
  }

  /**
   * The entry of cookie value `value` (`<id>.<signature>`, the id ending at `idEnd`: a session
   * id's fixed length unless a caller's ids vary) when this exact value verified before: a
   * remembered id whose signature equals the presented one (compared in constant time). Else
   * `undefined`, also for anything not shaped like a cookie value.
   */
  find(value: string, idEnd: number = SESSION_ID_LENGTH): VerifiedId | undefined {
    if (idEnd <= 0 || value.charCodeAt(idEnd) !== DOT) return undefined;
    const id = value.slice(0, idEnd);
    let entry = this.#young.get(id);
    if (entry === undefined) {
      entry = this.#old.get(id);
      if (entry === undefined || !signatureMatches(entry.signature, value, idEnd + 1)) {
        return undefined;
      }
      this.#old.delete(id);
      this.#add(entry); // in use: keep it past the next generation change
      return entry;
    }
    return signatureMatches(entry.signature, value, idEnd + 1) ? entry : undefined;
  }

  /**
   * Remember cookie value `value` (`<id>.<signature>`), just verified by the ring as id `id`
   * (`stale` when an older secret signed it), and the id's store key `key`. Returns the entry.
   */
  remember(value: string, id: string, stale: boolean, key: string): VerifiedId {
    const entry: VerifiedId = {
      id: detached(id),
      signature: detached(value.slice(id.length + 1)),
      stale,
      key,
    };
    this.#old.delete(entry.id);
    this.#add(entry);
    return entry;
  }

  /** Entries held, both generations (for tests). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #add(entry: VerifiedId): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(entry.id, entry);
  }
}

/**
 * Whether the signature part of `value` (from `offset`, after the id and the dot) equals
 * `signature`, in time that does not depend on where they differ: a length that differs is a clean
 * `false` (signatures of one format have one length, so it tells nothing), and otherwise every
 * character is compared, the differences OR-ed without a branch.
 */
function signatureMatches(signature: string, value: string, offset: number): boolean {
  const length = signature.length;
  if (value.length - offset !== length) return false;
  let difference = 0;
  for (let i = 0; i < length; i++) {
    difference |= signature.charCodeAt(i) ^ value.charCodeAt(offset + i);
  }
  return difference === 0;
}
