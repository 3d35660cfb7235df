/**
 * `sessionkit` — writing `Set-Cookie` lines for the options `cookie.ts` resolved and validated:
 * the value checked (cookie-octets only, `name=value` within 4096 bytes), then the attributes —
 * kept per options object and reused while `Max-Age` and `Expires` stay the same.
 */

import { MAX_COOKIE_AGE_MS, MAX_COOKIE_BYTES, type ResolvedCookieOptions } from './cookie.js';
import { TooLargeError } from './errors.js';

/** RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon, backslash. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/**
 * Serialize a `Set-Cookie` value. `maxAge` in milliseconds: `undefined` gives a browser-session
 * cookie, `0` expires it, larger values are capped at 400 days. Throws `TooLargeError`
 * (`ERR_SESSION_TOO_LARGE`) when `name=value` exceeds 4096 bytes, and `TypeError` for a value
 * with characters outside cookie-octet (the core only produces base64url values).
 */
export function serializeCookie(
  options: ResolvedCookieOptions,
  value: string,
  maxAge: number | undefined,
  now: number,
): string {
  if (!COOKIE_VALUE.test(value)) throw new TypeError('Cookie value has forbidden characters.');
  const size = Buffer.byteLength(options.name) + 1 + Buffer.byteLength(value);
  if (size > MAX_COOKIE_BYTES)
    throw new TooLargeError('The session cookie', size, MAX_COOKIE_BYTES);
  return cookieLine(options, value, maxAge, now);
}

/**
 * {@link serializeCookie} without its checks, for a caller that has made them already: `value`
 * holds cookie-octets only (base64url and `.`, by construction) and `name=value` fits in 4096
 * bytes. The sealed cookie's lines (`chunks.ts`) measure and build them so, and its token is
 * base64url with a key id of the same alphabet: the check of every character of a ~250-character
 * token was about 3 % of a sealed write. @internal
 */
export function cookieLine(
  options: ResolvedCookieOptions,
  value: string,
  maxAge: number | undefined,
  now: number,
): string {
  return `${options.name}=${value}${attributes(options, maxAge, now)}`;
}

/** The attributes of a cookie line ({@link attributes}) and the times they were written for. */
interface Attributes {
  /** `Max-Age` in seconds, `-1` for none. */
  readonly maxAge: number;
  /** `Expires` in seconds since the epoch (its resolution), `-1` for none. */
  readonly expires: number;
  readonly text: string;
}

/** The last attributes written per cookie: reused while their `Max-Age` and `Expires` hold. */
const LAST_ATTRIBUTES = new WeakMap<ResolvedCookieOptions, Attributes>();

/**
 * Everything after `name=value` in a `Set-Cookie` line of `options`. A session's cookie gets the
 * same attributes for every response of one second (`Expires` has one-second resolution), so
 * the last ones per options object are kept and reused: no `Date` formatted and no string built
 * per response.
 */
function attributes(
  options: ResolvedCookieOptions,
  maxAge: number | undefined,
  now: number,
): string {
  let seconds = -1;
  let expires = -1;
  if (maxAge !== undefined) {
    const ms = Math.max(0, Math.min(maxAge, MAX_COOKIE_AGE_MS));
    seconds = Math.floor(ms / 1000);
    expires = ms === 0 ? 0 : Math.floor((now + ms) / 1000);
  }
  const last = LAST_ATTRIBUTES.get(options);
  if (last !== undefined && last.maxAge === seconds && last.expires === expires) return last.text;
  let out = `; Path=${options.path}`;
  if (options.domain !== undefined) out += `; Domain=${options.domain}`;
  if (maxAge !== undefined) {
    // Max-Age wins over Expires where both are understood (RFC 6265 §5.3); Expires is for old clients.
    out += `; Max-Age=${seconds}; Expires=${new Date(expires * 1000).toUTCString()}`;
  }
  if (options.httpOnly) out += '; HttpOnly';
  if (options.secure) out += '; Secure';
  out += `; SameSite=${options.sameSite === 'lax' ? 'Lax' : options.sameSite === 'strict' ? 'Strict' : 'None'}`;
  if (options.partitioned) out += '; Partitioned';
  LAST_ATTRIBUTES.set(options, { maxAge: seconds, expires, text: out });
  return out;
}
