/**
 * `sessionkit` — the session cookie's value, `<id>.<signature>`: the one owner of its format.
 *
 * The id is 43 base64url characters; the signature is the base64url HMAC-SHA-256 of the id under
 * the key ring's `cookie-sign` subkey (43 characters). The primary secret signs; older secrets
 * only verify, so rotating secrets logs nobody out (the cookie is re-issued under the primary).
 */

import { isSessionId, type KeyRing, SESSION_ID_LENGTH } from './keys.js';

/** Length of a base64url HMAC-SHA-256: 32 bytes → 43 characters. */
export const SIGNATURE_LENGTH = 43;

/** What {@link verifyCookieValue} found in one cookie value. */
export type CookieValueCheck =
  /** Well formed and signed by a key of the ring; `stale` when not by the primary (re-sign it). */
  | { readonly id: string; readonly stale: boolean }
  /** Not `<43-character id>.<43-character signature>`. */
  | 'malformed'
  /** Well formed, but no key of the ring signed it. */
  | 'signature';

/** The cookie value for session `id`: `<id>.<signature under the primary secret>`. */
export function signCookieValue(keys: KeyRing, id: string): string {
  return `${id}.${keys.sign('cookie-sign', id)}`;
}

/**
 * Check one presented cookie value. Never throws: anything that is not a well-formed value signed
 * by the ring is `'malformed'` or `'signature'` (compared in constant time by the key ring).
 */
export function verifyCookieValue(keys: KeyRing, value: string): CookieValueCheck {
  const dot = value.indexOf('.');
  const id = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  if (dot !== SESSION_ID_LENGTH || !isSessionId(id) || signature.length !== SIGNATURE_LENGTH) {
    return 'malformed';
  }
  const index = keys.verifyIndex('cookie-sign', id, signature);
  return index === -1 ? 'signature' : { id, stale: index > 0 };
}
