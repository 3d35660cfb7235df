/**
 * `sessionkit/csrf` — the framework-neutral CSRF check (security bar §17 in `docs/security.md`).
 *
 * ```ts
 * const csrf = createCsrfProtection(manager, { except: ['/webhooks/stripe'] });
 * await csrf.verify({ method, path, headers: (name) => get(name), body }, session); // or throws
 * ```
 *
 * The adapters wrap it (`csrfMiddleware` in `sessionkit/adapters/node` and `…/express`); this
 * module is for frameworks without one. A page or client gets the token with
 * `await session.csrfToken()` — the session's synchronizer secret, masked with a fresh pad on
 * every call (BREACH-safe) — and sends it back in the `x-csrf-token` header or the `_csrf` body
 * field. Layers, in order, for every unsafe method (anything but GET, HEAD and OPTIONS):
 *
 * 1. Fetch metadata: `Sec-Fetch-Site: cross-site` is refused outright.
 * 2. `Origin: null` is refused. Without a `Sec-Fetch-Site` header (older browsers), `Origin` must
 *    be exactly an allowed origin; without `Origin`, a `Referer` must be from one.
 * 3. The token — always, whatever the content type: a forged form, a `text/plain` or
 *    `multipart` body, a method-override header, none of them gets past a missing token.
 */

import { ConfigError, CsrfError, type CsrfFailureReason } from '../core/errors.js';
import type { SessionManager } from '../core/manager.js';

/** The request header a token is read from. */
export const CSRF_HEADER = 'x-csrf-token';

/** The body field a token is read from (urlencoded, multipart or JSON, once parsed). */
export const CSRF_FIELD = '_csrf';

/** Methods that never need a token (RFC 9110 §9.2.1 safe methods, minus TRACE — see below). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the check needs to know about a request; adapters build it from their framework's. */
export interface CsrfRequest {
  /** The request method as received (exact case; `X-HTTP-Method-Override` does not count). */
  method: string;
  /** The path, without the query string (matched against `except`). */
  path: string;
  /** A request header by lower-case name, or `undefined` when absent. */
  headers: (name: string) => string | undefined;
  /**
   * The body as a body parser left it (urlencoded, multipart or JSON fields as an object), or
   * `undefined` when none ran. Only its own `_csrf` property is read; never the query string.
   */
  body?: unknown;
  /**
   * Scheme the request arrived with, for the default allowed origin (`<scheme>://<Host>`).
   * @default 'https'
   */
  scheme?: 'http' | 'https' | undefined;
}

/** Options of {@link createCsrfProtection}; every adapter's `csrfMiddleware` takes the same. */
export interface CsrfOptions {
  /**
   * Origins allowed to send unsafe requests, each exactly `scheme://host[:port]` (normalized at
   * construction: lower case, default port dropped). Used when a request has no
   * `Sec-Fetch-Site` header. Set it when the app sits behind a proxy that changes the scheme or
   * host, or when another origin of yours posts to this one.
   * @default the request's own origin, `<scheme>://<Host header>`
   */
  origins?: readonly string[];
  /**
   * Paths that skip the check entirely (webhooks with their own signature, for instance): exact
   * strings, compared with the request path case-sensitively and without decoding, or RegExps
   * tested against it (no `g`/`y` flag: their state would make the check flaky).
   * @default []
   */
  except?: readonly (string | RegExp)[];
}

/** The subset of a session the check uses. */
export interface CsrfSession {
  verifyCsrfToken(token: unknown): Promise<boolean>;
}

/** A configured CSRF check. */
export interface CsrfProtection {
  /**
   * Resolve when `request` may proceed; reject with {@link CsrfError} (`ERR_SESSION_CSRF`, 403,
   * with a `reason`) when it must not, after emitting a `csrf-failure` event on the manager.
   * Safe methods and `except` paths resolve without loading the session; otherwise the session
   * is loaded, so a store outage rejects with `ERR_SESSION_STORE` (503).
   */
  verify(request: CsrfRequest, session: CsrfSession): Promise<void>;
  /** `true` when `path` is one of the `except` paths. */
  isExcepted(path: string): boolean;
}

/**
 * Create the CSRF check. `manager` receives the `csrf-failure` events (`reason` and `method`;
 * never a token). For a manager whose `transport` is a header (`'bearer'`, `'header'`) every
 * request passes: no ambient credential, nothing to forge (docs/stateless.md, "Transports"). Throws `ConfigError` (`ERR_SESSION_CONFIG`) for an origin that is not exactly
 * `scheme://host[:port]` over http(s), or an `except` entry that is not a path string or a
 * RegExp without `g`/`y`.
 */
export function createCsrfProtection(
  manager: Pick<SessionManager<object, object>, 'emit'> &
    Partial<Pick<SessionManager<object, object>, 'transport'>>,
  options: CsrfOptions = {},
): CsrfProtection {
  if (typeof manager?.emit !== 'function') {
    throw new ConfigError('createCsrfProtection() needs the session manager as first argument.');
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('CSRF options must be an object ({ origins?, except? }).');
  }
  const origins = options.origins === undefined ? undefined : resolveOrigins(options.origins);
  const except = resolveExcept(options.except ?? []);
  const headerTransport = manager.transport !== undefined && manager.transport !== 'cookie';
  const isExcepted = (path: string): boolean =>
    except.some((rule) => (typeof rule === 'string' ? rule === path : rule.test(path)));

  const fail = (reason: CsrfFailureReason, method: string): never => {
    manager.emit({ type: 'csrf-failure', reason, method: method.slice(0, 16) });
    throw new CsrfError(reason);
  };

  return {
    isExcepted,
    async verify(request, session) {
      // With a header transport the browser attaches no credential on its own: a cross-site
      // page cannot make it send `Authorization` or a custom header without a CORS preflight,
      // and cannot read the token. So there is no ambient credential to forge requests with.
      if (headerTransport) return;
      const { method } = request;
      // TRACE is "safe" in RFC 9110 but browsers cannot send it (a forbidden method in Fetch), so
      // requiring a token costs nothing and covers apps that route it to something that writes.
      if (SAFE_METHODS.has(method) || isExcepted(request.path)) return;
      const reason = checkSource(request, origins);
      if (reason !== undefined) fail(reason, method);
      const token = pickToken(request);
      if (typeof token !== 'string') fail(token.reason, method);
      else if (!(await session.verifyCsrfToken(token))) fail('invalid-token', method);
    },
  };
}

/** Fetch metadata, then `Origin`, then `Referer`. `undefined` when the source is acceptable. */
function checkSource(
  request: CsrfRequest,
  origins: ReadonlySet<string> | undefined,
): CsrfFailureReason | undefined {
  const site = request.headers('sec-fetch-site')?.trim().toLowerCase();
  if (site === 'cross-site') return 'cross-site';
  const origin = request.headers('origin');
  // Sandboxed frames, data: URLs and cross-origin redirect chains send `Origin: null`.
  if (origin !== undefined && origin.trim().toLowerCase() === 'null') return 'origin-mismatch';
  // A browser that sends Fetch metadata has said where the request comes from; the forbidden
  // `Sec-` prefix means page script cannot forge it (Fetch §2.2.2). Unknown values fall through.
  if (site === 'same-origin' || site === 'same-site' || site === 'none') return undefined;
  const allowed = origins ?? ownOrigin(request);
  if (origin !== undefined) return allowed.has(origin) ? undefined : 'origin-mismatch';
  const referer = request.headers('referer');
  if (referer === undefined) return undefined; // not a browser: the token alone decides
  return allowed.has(originOf(referer) ?? '') ? undefined : 'origin-mismatch';
}

/** The token from the header or the body field; a failure reason when there is none usable. */
function pickToken(request: CsrfRequest): string | { reason: CsrfFailureReason } {
  const fromHeader = request.headers(CSRF_HEADER);
  const body = request.body;
  // Own property only: a parsed body must not hand us `_csrf` through its prototype.
  const fromBody =
    typeof body === 'object' && body !== null && Object.hasOwn(body, CSRF_FIELD)
      ? (body as Record<string, unknown>)[CSRF_FIELD]
      : undefined;
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
    return { reason: 'token-mismatch' };
  }
  const token = fromHeader ?? fromBody;
  if (token === undefined || token === '') return { reason: 'missing-token' };
  // A repeated field (`_csrf=a&_csrf=b`) parses to an array: refused, never "first wins".
  if (typeof token !== 'string') return { reason: 'invalid-token' };
  return token;
}

function ownOrigin(request: CsrfRequest): ReadonlySet<string> {
  const host = request.headers('host');
  if (host === undefined || host === '') return new Set();
  const origin = originOf(`${request.scheme ?? 'https'}://${host}`);
  return new Set(origin === undefined ? [] : [origin]);
}

/** The serialized origin of an http(s) URL, or `undefined`. */
function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

// `scheme://host[:port]` and at most a `/`: no path, query or fragment (`/`, `?`, `#`, and `\`,
// which URL parsing reads as `/`), no credentials (`@`), no wildcard, no white space.
const ORIGIN_FORM = /^https?:\/\/[^/\\?#@*\s]+\/?$/i;

function resolveOrigins(origins: readonly string[]): ReadonlySet<string> {
  if (!Array.isArray(origins)) {
    throw new ConfigError('CSRF option `origins` must be an array of origin strings.');
  }
  const out = new Set<string>();
  for (const [index, value] of origins.entries()) {
    const fix = 'Give exactly `scheme://host[:port]`, e.g. "https://app.example.com".';
    if (typeof value !== 'string') {
      throw new ConfigError(`CSRF option \`origins[${index}]\` must be a string. ${fix}`);
    }
    // The form first; the URL parser then refuses what a pattern does not see (a bad host or
    // port) and normalizes the rest (lower case, default port dropped).
    if (!ORIGIN_FORM.test(value) || !URL.canParse(value)) {
      throw new ConfigError(
        `CSRF option \`origins[${index}]\` is not an http(s) origin (no path, query, wildcard or credentials). ${fix}`,
      );
    }
    out.add(new URL(value).origin);
  }
  return out;
}

function resolveExcept(except: readonly (string | RegExp)[]): (string | RegExp)[] {
  if (!Array.isArray(except)) {
    throw new ConfigError('CSRF option `except` must be an array of path strings or RegExps.');
  }
  return except.map((rule: unknown, index) => {
    if (typeof rule === 'string') {
      if (!rule.startsWith('/') || /[?#]/.test(rule)) {
        throw new ConfigError(
          `CSRF option \`except[${index}]\` must be a path starting with "/", without query or fragment.`,
        );
      }
      return rule;
    }
    if (rule instanceof RegExp) {
      if (rule.global || rule.sticky) {
        throw new ConfigError(
          `CSRF option \`except[${index}]\`: a RegExp with the g or y flag keeps state between tests; drop the flag.`,
        );
      }
      return rule;
    }
    throw new ConfigError(`CSRF option \`except[${index}]\` must be a path string or a RegExp.`);
  });
}
