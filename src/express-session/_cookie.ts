/**
 * Private: the cookie side of the express-session facade — the `Cookie` class with
 * express-session 1.19's `maxAge` / `expires` / `originalMaxAge` semantics, the `Set-Cookie`
 * serializer, the request cookie reader, and the `s:<id>.<sig>` signature (HMAC-SHA256 of the id
 * under the raw secret, base64 without padding — the format of the cookie-signature package, so
 * cookies pass both ways between express-session and the facade).
 */

import { createHmac } from 'node:crypto';
import { readCookie as readCookieValues } from '../core/cookie.js';
import { timingSafeEqualString } from '../core/keys.js';
import { createMac, type Mac } from '../core/sha256.js';

/** A secret as express-session takes it: a string or a Buffer. */
export type Secret = string | Uint8Array;

/** Cookie options of the facade (express-session's `cookie` option). */
export interface CookieOptions {
  /** Milliseconds until expiry from each (re)set; `null` for a browser-session cookie. @default null */
  maxAge?: number | null | undefined;
  /** Absolute expiry; prefer `maxAge`. */
  expires?: Date | null | undefined;
  /** @default true */
  httpOnly?: boolean | undefined;
  /** @default '/' */
  path?: string | undefined;
  domain?: string | undefined;
  /** `'auto'`: secure when the request is (see the `proxy` option). @default false */
  secure?: boolean | 'auto' | undefined;
  /** `'auto'`: `'none'` on secure requests, `'lax'` otherwise. */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined;
  partitioned?: boolean | undefined;
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** What is serialized and stored of a cookie (`cookie.data`, `cookie.toJSON()`). */
export interface CookieData {
  originalMaxAge: number | null;
  partitioned?: boolean | undefined;
  priority?: string | undefined;
  expires?: Date | string | null | undefined;
  secure?: boolean | undefined;
  httpOnly?: boolean | undefined;
  domain?: string | undefined;
  path?: string | undefined;
  sameSite?: boolean | string | undefined;
}

/**
 * A session cookie, as `req.session.cookie`. Setting `maxAge` (ms) moves `expires` to now +
 * maxAge and records it as `originalMaxAge`; reading `maxAge` gives the milliseconds left.
 * Throws `TypeError` for a `maxAge` that is neither a number nor a Date, or non-object options.
 */
export class Cookie {
  path = '/';
  httpOnly = true;
  originalMaxAge: number | null = null;
  secure?: boolean | 'auto' | undefined;
  domain?: string | undefined;
  sameSite?: boolean | string | undefined;
  partitioned?: boolean | undefined;
  priority?: string | undefined;
  private _expires: Date | null | undefined = undefined;

  constructor(options?: CookieOptions | CookieData) {
    this.maxAge = null;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      for (const [key, value] of Object.entries(options)) {
        if (key !== 'data') (this as Record<string, unknown>)[key] = value;
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge;
    }
  }

  /** The absolute expiry (`null`/`undefined` for a browser-session cookie). */
  get expires(): Date | null | undefined {
    return this._expires;
  }
  set expires(date: Date | null | undefined) {
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }

  /** Milliseconds left until `expires`; setting it resets `expires` and `originalMaxAge`. */
  get maxAge(): number | null {
    return this._expires instanceof Date
      ? this._expires.valueOf() - Date.now()
      : (this._expires ?? null);
  }
  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date');
    }
    const now = Date.now();
    this.expires = typeof ms === 'number' ? new Date(now + ms) : (ms ?? null);
    // Exactly the milliseconds given: express-session re-reads the clock here and records
    // 1999 for a 2000 ms cookie when a millisecond ticks in between.
    if (typeof ms === 'number') this.originalMaxAge = ms;
  }

  /** The stored and serialized attributes. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure === 'auto' ? undefined : this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** `name=value; attributes…` for a `Set-Cookie` header. Throws `TypeError` on invalid parts. */
  serialize(name: string, value: string): string {
    return serializeCookie(name, value, this.data);
  }

  /** {@link data}, so `JSON.stringify(session)` stores the attributes, not the getters. */
  toJSON(): CookieData {
    return this.data;
  }
}

// RFC 6265 §4.1.1 token / cookie-octet / path-value grammars (as the cookie package checks them).
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]*$/;
const DOMAIN = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PATH = /^[\u0020-\u003A\u003C-\u007E]*$/;

/** Serialize a cookie with URI-encoded value, in the attribute order express-session emits. */
export function serializeCookie(name: string, value: string, data: CookieData): string {
  if (!NAME.test(name)) throw new TypeError('argument name is invalid');
  const encoded = encodeURIComponent(value);
  if (!VALUE.test(encoded)) throw new TypeError('argument val is invalid');
  let out = `${name}=${encoded}`;
  if (data.domain) {
    if (!DOMAIN.test(data.domain)) throw new TypeError('option domain is invalid');
    out += `; Domain=${data.domain}`;
  }
  if (data.path) {
    if (!PATH.test(data.path)) throw new TypeError('option path is invalid');
    out += `; Path=${data.path}`;
  }
  if (data.expires) {
    const expires = data.expires;
    if (!(expires instanceof Date) || Number.isNaN(expires.valueOf())) {
      throw new TypeError('option expires is invalid');
    }
    out += `; Expires=${expires.toUTCString()}`;
  }
  if (data.httpOnly) out += '; HttpOnly';
  if (data.secure) out += '; Secure';
  if (data.partitioned) out += '; Partitioned';
  if (data.priority) {
    const priority = String(data.priority).toLowerCase();
    const label = { low: 'Low', medium: 'Medium', high: 'High' }[priority];
    if (label === undefined) throw new TypeError('option priority is invalid');
    out += `; Priority=${label}`;
  }
  if (data.sameSite) {
    const sameSite = typeof data.sameSite === 'string' ? data.sameSite.toLowerCase() : true;
    const label =
      sameSite === true ? 'Strict' : { lax: 'Lax', strict: 'Strict', none: 'None' }[sameSite];
    if (label === undefined) throw new TypeError('option sameSite is invalid');
    out += `; SameSite=${label}`;
  }
  return out;
}

/** The first value of cookie `name` in a `Cookie` header, URI-decoded (kept raw if undecodable). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  // The core's parser: names match byte for byte after trimming SP/HTAB only (no prefix bypass).
  const [value] = readCookieValues(header, name);
  if (value === undefined || !value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `<value>.<base64 HMAC-SHA256 without padding>` under the raw secret (cookie-signature's format). */
export function sign(value: string, secret: Secret): string {
  return `${value}.${mac(value, secret)}`;
}

/**
 * The value inside `signed` when its signature verifies under one of `secrets`, else `false`:
 * exactly when `signed` is `sign(value, secret)` for the text before its last `.`. The signature
 * text is compared with the expected one in constant time (docs/security.md §10; a length
 * mismatch is a clean `false`), as text, so no other spelling of the same bytes is accepted.
 */
export function unsign(signed: string, secrets: readonly Secret[]): string | false {
  const dot = signed.lastIndexOf('.');
  if (dot === -1) return false;
  const value = signed.slice(0, dot);
  const given = signed.slice(dot + 1);
  for (const secret of secrets) {
    if (timingSafeEqualString(mac(value, secret), given)) return value;
  }
  return false;
}

/** base64 HMAC-SHA256 of `value` without its padding (a 32-byte digest: 43 characters and one `=`). */
function mac(value: string, secret: Secret): string {
  const prepared = typeof secret === 'string' ? macOf(secret) : undefined;
  const digest =
    prepared === undefined
      ? createHmac('sha256', secret).update(value).digest('base64')
      : prepared(value, 'base64');
  return digest.slice(0, 43);
}

/** Prepared MACs of the string secrets seen (`core/sha256.ts`), at most {@link MAX_MACS}. */
const MACS = new Map<string, Mac>();
/** An app has one to a few secrets; a `req.secret` that changes per request is not cached. */
const MAX_MACS = 32;

function macOf(secret: string): Mac | undefined {
  let prepared = MACS.get(secret);
  if (prepared === undefined && MACS.size < MAX_MACS) {
    prepared = createMac(secret);
    MACS.set(secret, prepared);
  }
  return prepared;
}
