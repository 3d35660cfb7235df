/**
 * `sessionkit` — cookie options and their prefix rules, and parsing the `Cookie` header; the
 * `Set-Cookie` lines are written by `set-cookie.ts`.
 *
 * Defaults follow docs/security.md §8: `__Host-` name, `Secure`, `HttpOnly`, `SameSite=Lax`,
 * `Path=/`, no `Domain`. Every attribute is validated once at construction (§9), so nothing a request
 * carries can inject into a `Set-Cookie` line.
 */

import { ConfigError } from './errors.js';

/** Largest `name=value` a browser is guaranteed to keep (RFC 6265 §6.1), in bytes. */
export const MAX_COOKIE_BYTES = 4096;

/** Longest Max-Age browsers honour (RFC 6265bis §5.6.1): 400 days, in milliseconds. */
export const MAX_COOKIE_AGE_MS: number = 400 * 24 * 60 * 60 * 1000;

/** Cookie options of the session manager. */
export interface CookieOptions {
  /**
   * Cookie name.
   * @default '__Host-sid' when `secure`, else 'sid'
   */
  name?: string;
  /**
   * Send the cookie over HTTPS only. `false` is the explicit development mode for plain-http
   * localhost; it cannot be combined with a `__Host-`/`__Secure-` name.
   * @default true
   */
  secure?: boolean;
  /**
   * Hide the cookie from scripts.
   * @default true
   */
  httpOnly?: boolean;
  /**
   * `SameSite` attribute. `'none'` requires `secure`.
   * @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none';
  /**
   * `Path` attribute; must be `/` with a `__Host-` name.
   * @default '/'
   */
  path?: string;
  /**
   * `Domain` attribute; forbidden with a `__Host-` name.
   * @default undefined (host-only)
   */
  domain?: string;
  /**
   * Add the `Partitioned` attribute (CHIPS). Requires `secure`.
   * @default false
   */
  partitioned?: boolean;
  /**
   * Acknowledge `httpOnly: false`: page scripts, and any XSS payload, can then read and exfiltrate
   * the session cookie. Without it `httpOnly: false` is refused.
   * @default false
   */
  dangerouslyAllowScriptAccess?: boolean;
  /**
   * Acknowledge `secure: false` while `NODE_ENV` is `production`: the cookie then travels over
   * plain http, readable and replaceable on the network. Without it that combination is refused
   * (outside production `secure: false` is the plain-http development mode and needs no flag).
   * @default false
   */
  dangerouslyAllowInsecureCookie?: boolean;
}

/** Cookie options after validation and defaults. */
export interface ResolvedCookieOptions {
  readonly name: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly path: string;
  readonly domain: string | undefined;
  readonly partitioned: boolean;
}

// RFC 6265 §4.1.1: cookie-name is an RFC 2616 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Attribute values: no CTLs and no ';' (header injection).
const ATTRIBUTE_VALUE = /^[\x20-\x3A\x3C-\x7E]+$/;
const DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// RFC 6265bis §5.6: browsers ignore an attribute value over 1024 bytes (the cookie would then
// get another Path than configured); names are held to the same bound. All three are ASCII here.
const MAX_ATTRIBUTE_BYTES = 1024;
// RFC 1035 §2.3.4: a host name is at most 253 characters written out.
const MAX_DOMAIN_LENGTH = 253;
const OPTION_NAMES: readonly string[] = [
  'name',
  'secure',
  'httpOnly',
  'sameSite',
  'path',
  'domain',
  'partitioned',
  'dangerouslyAllowScriptAccess',
  'dangerouslyAllowInsecureCookie',
];

/**
 * Validate cookie options and apply defaults. Throws `ConfigError` (`ERR_SESSION_CONFIG`) naming
 * the option and the fix for an unknown option or one of the wrong type; a name that is no token
 * or over 1024 bytes; a path or domain that is invalid or too long (1024 bytes, 253 characters);
 * combinations browsers would reject (`__Host-` with `Domain`, a non-`/` path or without
 * `Secure`; `__Secure-` or `SameSite=None` or `Partitioned` without `Secure`); and the two
 * weakenings without their acknowledgement: `httpOnly: false` without
 * `dangerouslyAllowScriptAccess: true`, and `secure: false` while `NODE_ENV` is `production`
 * without `dangerouslyAllowInsecureCookie: true`.
 */
export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  checkShape(options);
  const secure = flag(options, 'secure', true);
  const httpOnly = flag(options, 'httpOnly', true);
  const partitioned = flag(options, 'partitioned', false);
  const name = options.name ?? (secure ? '__Host-sid' : 'sid');
  const path = options.path ?? '/';
  const sameSite = options.sameSite ?? 'lax';
  checkAttributes(name, path, options.domain);
  if (!['lax', 'strict', 'none'].includes(sameSite)) {
    throw new ConfigError('Option `cookie.sameSite` must be "lax", "strict" or "none".');
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-')) {
    if (!secure || options.domain !== undefined || path !== '/') {
      throw new ConfigError(
        'A `__Host-` cookie needs `secure: true`, `path: "/"` and no `domain`. For plain-http development set `cookie: { secure: false }` (the name then defaults to "sid").',
      );
    }
  }
  if (lower.startsWith('__secure-') && !secure) {
    throw new ConfigError('A `__Secure-` cookie needs `secure: true`; rename it for plain http.');
  }
  if (sameSite === 'none' && !secure) {
    throw new ConfigError('Option `cookie.sameSite: "none"` requires `secure: true`.');
  }
  if (partitioned && !secure) {
    throw new ConfigError('Option `cookie.partitioned` requires `secure: true`.');
  }
  checkWeakenings(options, secure, httpOnly);
  return { name, secure, httpOnly, sameSite, path, domain: options.domain, partitioned };
}

/**
 * Every value of cookie `name` in a `Cookie` request header, in order. A pair counts only when
 * its name equals `name` byte for byte once SP and HTAB around it are removed (RFC 6265 §5.2):
 * `"\u00a0__Host-sid"` is another cookie, one a sibling subdomain or a plain-http page may set.
 * Malformed pairs are skipped; a missing or non-string header yields `[]`. Never throws.
 */
export function readCookie(header: string | readonly string[] | undefined, name: string): string[] {
  const values: string[] = [];
  forEachCookie(header, name, (key, value) => {
    if (key === name) values.push(value);
  });
  return values;
}

/**
 * Call `visit(name, value)` for every pair of a `Cookie` request header whose name starts with
 * `prefix`, in order (SP and HTAB trimmed around names and values, as in {@link readCookie}; one
 * pair of surrounding double quotes removed from values).
 * Malformed pairs are skipped; a missing header visits nothing. Never throws.
 */
export function forEachCookie(
  header: string | readonly string[] | undefined,
  prefix: string,
  visit: (name: string, value: string) => void,
): void {
  if (header === undefined) return;
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length === 0 || !text.includes(prefix)) return;
  // Pair by pair between semicolons, by index: no array of parts (most headers hold one pair).
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const key = trimWsp(text.slice(start, eq));
      if (key.startsWith(prefix)) {
        let value = trimWsp(text.slice(eq + 1, end));
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
          value = value.slice(1, -1);
        visit(key, value);
      }
    }
    start = end + 1;
  }
}

/**
 * A flat copy of `text`, a value cut from a request header (a cookie value, a Bearer token), for
 * keeping past the request: V8 represents a slice of a long string as a view of its parent, so a
 * memo holding the slice would keep the whole header alive. Values are ASCII (base64url, dots),
 * which `latin1` copies byte for byte. @internal
 */
export function detached(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

// Only WSP (SP, HTAB) is trimmed, as RFC 6265 §5.2 says. String#trim() also strips Unicode
// spaces (NBSP, U+2028, BOM, …), which would turn an unprefixed name into `__Host-…`. A scan of
// the two ends rather than a regular expression: it runs on every pair of every request.
function trimWsp(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWsp(text.charCodeAt(start))) start++;
  while (end > start && isWsp(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isWsp(code: number): boolean {
  return code === 32 || code === 9;
}

function checkShape(options: CookieOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError('Option `cookie` must be an object such as `{ secure: false }`.');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new ConfigError(
        `Option \`cookie.${key}\` is unknown; the cookie options are ${OPTION_NAMES.join(', ')}.`,
      );
    }
  }
}

type FlagName =
  | 'secure'
  | 'httpOnly'
  | 'partitioned'
  | 'dangerouslyAllowScriptAccess'
  | 'dangerouslyAllowInsecureCookie';

/** A boolean option or its default; anything else (`'yes'`, `0`, `null`) is refused. */
function flag(options: CookieOptions, key: FlagName, fallback: boolean): boolean {
  const value: unknown = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ConfigError(
      `Option \`cookie.${key}\` must be a boolean (true or false), got ${typeName(value)}.`,
    );
  }
  return value;
}

function checkAttributes(name: unknown, path: unknown, domain: unknown): void {
  if (typeof name !== 'string' || name.length > MAX_ATTRIBUTE_BYTES || !TOKEN.test(name)) {
    throw new ConfigError(
      `Option \`cookie.name\` must be an RFC 6265 token of 1 to ${MAX_ATTRIBUTE_BYTES} bytes (letters, digits and !#$%&'*+-.^_\`|~).`,
    );
  }
  if (
    typeof path !== 'string' ||
    path.length > MAX_ATTRIBUTE_BYTES ||
    !ATTRIBUTE_VALUE.test(path) ||
    !path.startsWith('/')
  ) {
    throw new ConfigError(
      `Option \`cookie.path\` must start with "/", contain no ";" or controls and be at most ${MAX_ATTRIBUTE_BYTES} bytes.`,
    );
  }
  if (domain === undefined) return;
  // Length first: the pattern is then never run on a long input.
  if (typeof domain !== 'string' || domain.length > MAX_DOMAIN_LENGTH || !DOMAIN.test(domain)) {
    throw new ConfigError(
      `Option \`cookie.domain\` must be a plain host name such as "example.com", at most ${MAX_DOMAIN_LENGTH} characters.`,
    );
  }
}

/** The two weakenings a deployment must acknowledge by name. */
function checkWeakenings(options: CookieOptions, secure: boolean, httpOnly: boolean): void {
  const scriptAccess = flag(options, 'dangerouslyAllowScriptAccess', false);
  const insecure = flag(options, 'dangerouslyAllowInsecureCookie', false);
  if (!httpOnly && !scriptAccess) {
    throw new ConfigError(
      'Option `cookie.httpOnly: false` lets page scripts, and any XSS payload, read the session cookie. Keep the default, or acknowledge it with `cookie: { httpOnly: false, dangerouslyAllowScriptAccess: true }`.',
    );
  }
  if (!secure && !insecure && isProduction()) {
    throw new ConfigError(
      'Option `cookie.secure: false` sends the session cookie over plain http, and NODE_ENV is "production". Serve the app over HTTPS and remove it (behind a TLS-terminating proxy the browser still uses HTTPS, so keep `secure: true`), or acknowledge it with `cookie: { secure: false, dangerouslyAllowInsecureCookie: true }`.',
    );
  }
}

/** `NODE_ENV === 'production'`; runtimes without `process` (web workers) never are. */
function isProduction(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.NODE_ENV === 'production';
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${type === 'object' ? 'an' : 'a'} ${type}`;
}
