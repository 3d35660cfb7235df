/**
 * `sessionkit` — how the session token travels: in the session cookie (the default), in
 * `Authorization: Bearer <token>`, or in a named request header (docs/security.md §22). The token
 * is whatever the manager issues — a signed id for server-side stores, the sealed session itself
 * for `sessionkit/stores/cookie` — and is never read from the URL, the query or the body.
 *
 * With a header transport the new or rotated token goes back in a response header (`Session-Token`
 * by default), empty when the session ended; the client keeps it and sends it on the next request.
 * Parsing is strict: one header line, exactly `Bearer` + one space + one token68 (RFC 6750 §2.1),
 * at most {@link MAX_TOKEN_LENGTH} characters. Anything else is an anonymous request.
 */

import type { ResolvedCookieOptions } from './cookie.js';
import { ConfigError } from './errors.js';
import { serializeCookie } from './set-cookie.js';

/** Where the session token travels, per manager. */
export type TransportOption = 'cookie' | 'bearer' | HeaderTransportOptions;

/** A header transport: `Authorization: Bearer` or a named header. */
export interface HeaderTransportOptions {
  /** `bearer`: `Authorization: Bearer <token>`; `header`: the bare token in {@link header}. */
  type: 'bearer' | 'header';
  /**
   * With `type: 'header'`: the request header holding the token (an RFC 9110 token; matched
   * case-insensitively). Not allowed with `bearer`.
   * @default 'session-token'
   */
  header?: string;
  /**
   * The response header that carries a new or rotated token (empty when the session ended).
   * @default 'session-token'
   */
  responseHeader?: string;
}

/** A transport after validation. @internal */
export interface ResolvedTransport {
  readonly kind: 'cookie' | 'bearer' | 'header';
  /** Lower-case request header the token is read from (`cookie`, `authorization`, or the named one). */
  readonly requestHeader: string;
  /** Lower-case response header of a header transport; `undefined` for cookies. */
  readonly responseHeader: string | undefined;
  /** What responses vary on: `Cookie`, `Authorization` or the named header. */
  readonly varyOn: string;
}

/** Longest token a header transport accepts, in characters; a longer one is anonymous. */
export const MAX_TOKEN_LENGTH = 8192;

/** The default response (and named request) header of the header transports. */
export const DEFAULT_TOKEN_HEADER = 'session-token';

// RFC 9110 §5.1 field-name = token.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 7235 §2.1 token68, which every token the manager issues is (base64url and dots).
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
// Headers a session token must not be read from or written to.
const RESERVED = new Set([
  'cookie',
  'set-cookie',
  'authorization',
  'proxy-authorization',
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'vary',
  'cache-control',
]);

/**
 * Validate the `transport` option. Throws `ConfigError` (`ERR_SESSION_CONFIG`) naming the fix for
 * an unknown type, a header name that is not an RFC 9110 token or is reserved (`cookie`,
 * `authorization`, `set-cookie`, …), or `header` given with `bearer`. @internal
 */
export function resolveTransport(option: TransportOption | undefined): ResolvedTransport {
  if (option === undefined || option === 'cookie') {
    return { kind: 'cookie', requestHeader: 'cookie', responseHeader: undefined, varyOn: 'Cookie' };
  }
  const spec: HeaderTransportOptions = option === 'bearer' ? { type: 'bearer' } : option;
  if (typeof spec !== 'object' || spec === null || !['bearer', 'header'].includes(spec.type)) {
    throw new ConfigError(
      'Option `transport` must be "cookie", "bearer", or { type: "bearer" | "header", header?, responseHeader? }.',
    );
  }
  if (spec.type === 'bearer' && spec.header !== undefined) {
    throw new ConfigError(
      'Option `transport.header` names the request header of `type: "header"`; a bearer token always travels in `Authorization`.',
    );
  }
  const responseHeader = headerName(spec.responseHeader, 'transport.responseHeader');
  if (spec.type === 'bearer') {
    return {
      kind: 'bearer',
      requestHeader: 'authorization',
      responseHeader,
      varyOn: 'Authorization',
    };
  }
  const requestHeader = headerName(spec.header, 'transport.header');
  return { kind: 'header', requestHeader, responseHeader, varyOn: requestHeader };
}

/**
 * The token a request presents in a header transport, as the one candidate value to verify:
 * `[]` when the header is absent; `['']` (a malformed token, reported as such when verified)
 * when it is present but not exactly one line holding one well-formed token — two header lines,
 * a comma-joined pair, another scheme, `bearer` in lower case, extra spaces, a token68 with
 * forbidden characters, or more than {@link MAX_TOKEN_LENGTH} characters. Never throws. @internal
 */
export function headerToken(
  transport: ResolvedTransport,
  value: string | readonly string[] | undefined,
): string[] {
  if (value === undefined) return [];
  let line: string | undefined;
  if (typeof value === 'string') line = value;
  else if (value.length === 1) line = value[0];
  else return value.length === 0 ? [] : [''];
  if (typeof line !== 'string') return [''];
  const token = transport.kind === 'bearer' ? parseBearer(line) : line;
  if (token === undefined || token.length > MAX_TOKEN_LENGTH || !TOKEN68.test(token)) return [''];
  return [token];
}

/**
 * The token of an `Authorization` header line: exactly `Bearer`, one space and the rest, or
 * `undefined`. The scheme is matched case-sensitively on purpose (see docs/stateless.md,
 * "Transports"): RFC 7235 §2.1 lets recipients accept any case, but one accepted spelling —
 * RFC 6750's — leaves nothing for two parsers in a chain to read differently.
 */
export function parseBearer(line: string): string | undefined {
  if (line.length > MAX_TOKEN_LENGTH + 7 || !line.startsWith('Bearer ')) return undefined;
  return line.slice(7);
}

/** A response header carrying a token: `[lower-case name, value]`. */
export type TokenHeader = readonly [name: string, value: string];

/**
 * Issue the token `value` (a signed id or a sealed token; `''` ends the session): as a session
 * cookie line pushed onto `setCookie` (`maxAge` in ms, `0` expires it), or — with a header
 * transport — as the returned response header. Throws what `serializeCookie` throws. @internal
 */
export function issueToken(
  transport: ResolvedTransport,
  cookie: ResolvedCookieOptions,
  setCookie: string[],
  value: string,
  maxAge: number | undefined,
  now: number,
): TokenHeader | undefined {
  if (transport.responseHeader !== undefined) return [transport.responseHeader, value];
  setCookie.push(serializeCookie(cookie, value, maxAge, now));
  return undefined;
}

function headerName(value: string | undefined, option: string): string {
  if (value === undefined) return DEFAULT_TOKEN_HEADER;
  if (typeof value !== 'string' || !FIELD_NAME.test(value) || RESERVED.has(value.toLowerCase())) {
    throw new ConfigError(
      `Option \`${option}\` must be a header name (an RFC 9110 token) other than Cookie, Set-Cookie, Authorization and the standard entity headers; for example "${DEFAULT_TOKEN_HEADER}".`,
    );
  }
  return value.toLowerCase();
}
