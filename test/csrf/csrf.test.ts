/**
 * The framework-neutral CSRF check (`sessionkit/csrf`) against a real manager and memory store.
 * Over-HTTP cases against the node and Express adapters live in test/adapters/csrf.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { CsrfError, isSessionError } from '../../src/core/errors.js';
import {
  CSRF_FIELD,
  CSRF_HEADER,
  type CsrfOptions,
  type CsrfRequest,
  createCsrfProtection,
  SAFE_METHODS,
} from '../../src/csrf/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request, type TestManager } from '../core/helpers.js';
import { probeStore } from '../support/probe-store.js';

const HOST = 'app.example.com';
const OWN = `https://${HOST}`;

interface Req {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: unknown;
  scheme?: 'http' | 'https';
}

function req(r: Req = {}): CsrfRequest {
  const headers: Record<string, string> = { host: HOST, ...r.headers };
  return {
    method: r.method ?? 'POST',
    path: r.path ?? '/change',
    headers: (name) => headers[name],
    body: r.body,
    scheme: r.scheme ?? 'https',
  };
}

/** A stored session with a CSRF secret: its cookie and a valid token. */
async function withToken(m: TestManager): Promise<{ cookie: string; token: string }> {
  const { result, cookie } = await request(m, undefined, (s) => s.csrfToken());
  return { cookie: cookie!, token: result };
}

/** Run the check for `r` on the session of `cookie`; resolves `'ok'` or the failure reason. */
async function check(
  m: TestManager,
  cookie: string | undefined,
  r: Req,
  options: CsrfOptions = {},
): Promise<string> {
  const csrf = createCsrfProtection(m, options);
  const { result } = await request(m, cookie, (s) =>
    csrf.verify(req(r), s).then(
      () => 'ok',
      (error: unknown) => {
        if (error instanceof CsrfError) return error.reason;
        throw error;
      },
    ),
  );
  return result;
}

describe('createCsrfProtection: methods', () => {
  it.each(['GET', 'HEAD', 'OPTIONS'])(
    '%s passes without a token and without store I/O',
    async (method) => {
      const store = probeStore(memoryStore());
      const m = manager({ store });
      const { cookie } = await withToken(m);
      store.calls.clear();
      const headers = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
      expect(await check(m, cookie, { method, headers })).toBe('ok');
      expect(store.total()).toBe(0);
    },
  );

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'Get', ''])(
    '%s needs a token',
    async (method) => {
      const m = manager();
      const { cookie, token } = await withToken(m);
      expect(await check(m, cookie, { method })).toBe('missing-token');
      expect(await check(m, cookie, { method, headers: { [CSRF_HEADER]: token } })).toBe('ok');
    },
  );

  it('method-override headers and fields do not make a POST safe', async () => {
    const m = manager();
    const { cookie } = await withToken(m);
    const headers = {
      'x-http-method-override': 'GET',
      'x-http-method': 'GET',
      'x-method-override': 'GET',
    };
    expect(await check(m, cookie, { headers, body: { _method: 'GET' } })).toBe('missing-token');
  });
});

describe('createCsrfProtection: the token', () => {
  it('accepts a valid token from the header or from the body field', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    expect(await check(m, cookie, { headers: { [CSRF_HEADER]: token } })).toBe('ok');
    expect(await check(m, cookie, { body: { [CSRF_FIELD]: token } })).toBe('ok');
    const nullProto = Object.assign(Object.create(null) as object, { _csrf: token });
    expect(await check(m, cookie, { body: nullProto })).toBe('ok'); // multer's body shape
    expect(
      await check(m, cookie, { headers: { [CSRF_HEADER]: token }, body: { _csrf: token } }),
    ).toBe('ok');
  });

  it.each<[string, Req, string]>([
    ['no token at all', {}, 'missing-token'],
    ['an empty header', { headers: { [CSRF_HEADER]: '' } }, 'missing-token'],
    ['an empty field', { body: { _csrf: '' } }, 'missing-token'],
    ['a string body (text/plain parsed as text)', { body: '_csrf=x' }, 'missing-token'],
    ['a field under another name', { body: { csrf: 'x', _csrf_: 'x' } }, 'missing-token'],
    ['a repeated field (array)', { body: { _csrf: ['a', 'b'] } }, 'invalid-token'],
    ['a number', { body: { _csrf: 42 } }, 'invalid-token'],
    ['an object', { body: { _csrf: { toString: () => 'x' } } }, 'invalid-token'],
    ['garbage in the header', { headers: { [CSRF_HEADER]: 'not-a-token' } }, 'invalid-token'],
    ['a huge header', { headers: { [CSRF_HEADER]: 'A'.repeat(100_000) } }, 'invalid-token'],
  ])('%s → %s', async (_name, r, reason) => {
    const m = manager();
    const { cookie } = await withToken(m);
    expect(await check(m, cookie, r)).toBe(reason);
  });

  it('a truncated, extended or bit-flipped token is invalid', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const flip = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    for (const bad of [token.slice(0, -1), token.slice(0, 43), `${token}A`, flip]) {
      expect(await check(m, cookie, { headers: { [CSRF_HEADER]: bad } })).toBe('invalid-token');
    }
  });

  it('header and body disagreeing is refused, even when both are valid maskings', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const { result: other } = await request(m, cookie, (s) => s.csrfToken());
    expect(other).not.toBe(token);
    expect(
      await check(m, cookie, { headers: { [CSRF_HEADER]: token }, body: { _csrf: other } }),
    ).toBe('token-mismatch');
    expect(
      await check(m, cookie, { headers: { [CSRF_HEADER]: token }, body: { _csrf: 'forged' } }),
    ).toBe('token-mismatch');
    expect(await check(m, cookie, { headers: { [CSRF_HEADER]: '' }, body: { _csrf: token } })).toBe(
      'token-mismatch',
    );
  });

  it('a `_csrf` inherited through the prototype is not a token', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const body = Object.create({ _csrf: token }) as object;
    expect(await check(m, cookie, { body })).toBe('missing-token');
  });

  it('a token of another session, of no session, or from before login is invalid', async () => {
    const m = manager();
    const a = await withToken(m);
    const b = await withToken(m);
    expect(await check(m, b.cookie, { headers: { [CSRF_HEADER]: a.token } })).toBe('invalid-token');
    expect(await check(m, undefined, { headers: { [CSRF_HEADER]: a.token } })).toBe(
      'invalid-token',
    );
    const { cookie: loggedIn } = await request(m, a.cookie, (s) => s.login('alice'));
    expect(await check(m, loggedIn, { headers: { [CSRF_HEADER]: a.token } })).toBe('invalid-token');
    const { result: fresh } = await request(m, loggedIn, (s) => s.csrfToken());
    expect(await check(m, loggedIn, { headers: { [CSRF_HEADER]: fresh } })).toBe('ok');
  });

  it('a store outage while loading the session rejects with ERR_SESSION_STORE, not a 403', async () => {
    const store = probeStore(memoryStore());
    const m = manager({ store });
    const { cookie, token } = await withToken(m);
    store.failing.add('get');
    const csrf = createCsrfProtection(m);
    const scope = m.begin({ cookie });
    const error = await csrf.verify(req({ headers: { [CSRF_HEADER]: token } }), scope.session).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    await scope.abort();
  });
});

describe('createCsrfProtection: where the request comes from', () => {
  it.each<[string, Record<string, string>, string]>([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 'cross-site'],
    ['Sec-Fetch-Site: Cross-Site (case)', { 'sec-fetch-site': 'Cross-Site' }, 'cross-site'],
    [
      'cross-site with a matching Origin',
      { 'sec-fetch-site': 'cross-site', origin: OWN },
      'cross-site',
    ],
    ['Origin: null', { origin: 'null' }, 'origin-mismatch'],
    [
      'Origin: null with same-origin metadata',
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      'origin-mismatch',
    ],
    [
      'Origin: " NULL " (case, white space) with same-origin metadata',
      { origin: ' NULL ', 'sec-fetch-site': 'same-origin' },
      'origin-mismatch',
    ],
    ['a foreign Origin', { origin: 'https://evil.example' }, 'origin-mismatch'],
    ['a look-alike Origin', { origin: `${OWN}.evil.example` }, 'origin-mismatch'],
    ['the own host over http', { origin: `http://${HOST}` }, 'origin-mismatch'],
    ['another port', { origin: `${OWN}:8443` }, 'origin-mismatch'],
    ['two Origins joined', { origin: `${OWN}, https://evil.example` }, 'origin-mismatch'],
    ['a foreign Referer', { referer: 'https://evil.example/page' }, 'origin-mismatch'],
    [
      'a Referer on a look-alike host',
      { referer: `https://${HOST}.evil.example/` },
      'origin-mismatch',
    ],
    ['an unparseable Referer', { referer: 'not a url' }, 'origin-mismatch'],
    ['an Origin with credentials', { origin: `https://user:pw@${HOST}` }, 'origin-mismatch'],
    ['an Origin with a user name', { origin: `https://user@${HOST}` }, 'origin-mismatch'],
    ['an Origin with a trailing slash', { origin: `${OWN}/` }, 'origin-mismatch'],
    ['a javascript: Referer', { referer: 'javascript:alert(1)' }, 'origin-mismatch'],
  ])('%s → %s, even with a valid token', async (_name, headers, reason) => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    expect(await check(m, cookie, { headers: { ...headers, [CSRF_HEADER]: token } })).toBe(reason);
  });

  it.each<[string, Record<string, string>]>([
    ['same-origin metadata', { 'sec-fetch-site': 'same-origin' }],
    ['same-site metadata', { 'sec-fetch-site': 'same-site' }],
    ['user-initiated (none)', { 'sec-fetch-site': 'none' }],
    ['the own Origin', { origin: OWN }],
    ['a same-origin Referer', { referer: `${OWN}/form?x=1` }],
    ['no Origin and no Referer (not a browser)', {}],
  ])('%s → token check only', async (_name, headers) => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    expect(await check(m, cookie, { headers })).toBe('missing-token');
    expect(await check(m, cookie, { headers: { ...headers, [CSRF_HEADER]: token } })).toBe('ok');
  });

  it('the own origin follows the scheme the adapter saw and the Host header', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const headers = { origin: `http://${HOST}`, [CSRF_HEADER]: token };
    expect(await check(m, cookie, { headers, scheme: 'http' })).toBe('ok');
    expect(await check(m, cookie, { headers, scheme: 'https' })).toBe('origin-mismatch');
    const port = { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', [CSRF_HEADER]: token };
    expect(await check(m, cookie, { headers: port, scheme: 'http' })).toBe('ok');
    const noHost = { origin: OWN, host: '', [CSRF_HEADER]: token };
    expect(await check(m, cookie, { headers: noHost })).toBe('origin-mismatch');
  });

  it('the own origin defaults to https, and a Host that is no host allows no Origin', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const csrf = createCsrfProtection(m);
    const verdict = async (headers: Record<string, string>): Promise<string> => {
      const r: CsrfRequest = {
        method: 'POST',
        path: '/change',
        headers: (name) => ({ host: HOST, [CSRF_HEADER]: token, ...headers })[name],
      };
      const { result } = await request(m, cookie, (s) =>
        csrf.verify(r, s).then(
          () => 'ok',
          (error: unknown) => (error as CsrfError).reason,
        ),
      );
      return result;
    };
    expect(await verdict({ origin: OWN })).toBe('ok');
    expect(await verdict({ origin: `http://${HOST}` })).toBe('origin-mismatch');
    expect(await verdict({ host: 'exa mple.com', origin: 'https://exa mple.com' })).toBe(
      'origin-mismatch',
    );
    expect(await verdict({ host: 'exa mple.com', referer: 'https://exa mple.com/' })).toBe(
      'origin-mismatch',
    );
  });

  it('configured origins replace the own origin and are matched exactly', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const options = { origins: ['HTTPS://Shop.Example.com:443/', 'http://localhost:5173'] };
    const ok = async (origin: string) =>
      check(m, cookie, { headers: { origin, [CSRF_HEADER]: token } }, options);
    expect(await ok('https://shop.example.com')).toBe('ok');
    expect(await ok('http://localhost:5173')).toBe('ok');
    expect(await ok(OWN)).toBe('origin-mismatch');
    expect(await ok('https://shop.example.com:444')).toBe('origin-mismatch');
    expect(await ok('http://shop.example.com')).toBe('origin-mismatch');
    const referer = { referer: 'https://shop.example.com/cart', [CSRF_HEADER]: token };
    expect(await check(m, cookie, { headers: referer }, options)).toBe('ok');
  });
});

describe('createCsrfProtection: the wire names', () => {
  it('reads the token from the `x-csrf-token` header and the `_csrf` field, nowhere else', async () => {
    // Literals on purpose: clients hard-code these names, so the constants must not drift.
    expect(CSRF_HEADER).toBe('x-csrf-token');
    expect(CSRF_FIELD).toBe('_csrf');
    expect([...SAFE_METHODS]).toEqual(['GET', 'HEAD', 'OPTIONS']);
    const m = manager();
    const { cookie, token } = await withToken(m);
    expect(await check(m, cookie, { headers: { 'x-csrf-token': token } })).toBe('ok');
    expect(await check(m, cookie, { body: { _csrf: token } })).toBe('ok');
    const elsewhere = { 'csrf-token': token, 'x-xsrf-token': token, 'x-csrftoken': token };
    expect(await check(m, cookie, { headers: elsewhere, body: { csrf: token } })).toBe(
      'missing-token',
    );
  });
});

describe('createCsrfProtection: except', () => {
  it('skips exact paths and RegExp matches entirely, nothing else', async () => {
    const m = manager();
    const { cookie } = await withToken(m);
    const options = { except: ['/webhooks/stripe', /^\/public\/[a-z]+$/] };
    const hostile = { 'sec-fetch-site': 'cross-site' };
    expect(await check(m, cookie, { path: '/webhooks/stripe', headers: hostile }, options)).toBe(
      'ok',
    );
    expect(await check(m, cookie, { path: '/public/ping' }, options)).toBe('ok');
    for (const path of [
      '/webhooks/stripe/',
      '/webhooks/stripe/x',
      '/Webhooks/stripe',
      '/webhooks/%73tripe',
      '//webhooks/stripe',
      '/webhooks',
      '/public/ping/x',
      '/public/',
    ]) {
      expect(await check(m, cookie, { path }, options), path).toBe('missing-token');
    }
  });
});

describe('createCsrfProtection: events and errors', () => {
  it('emits csrf-failure with the reason and method, never a token; the error is generic', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const csrf = createCsrfProtection(m);
    const bad = `${token.slice(0, -4)}AAAA`;
    const { result: error } = await request(m, cookie, (s) =>
      csrf.verify(req({ method: 'PUT', headers: { [CSRF_HEADER]: bad } }), s).catch((e) => e),
    );
    expect(error).toBeInstanceOf(CsrfError);
    expect(isSessionError(error, 'ERR_SESSION_CSRF')).toBe(true);
    expect(error).toMatchObject({
      code: 'ERR_SESSION_CSRF',
      name: 'CsrfError',
      status: 403,
      statusCode: 403,
      expose: false,
      reason: 'invalid-token',
    });
    expect((error as Error).message).toBe('CSRF check failed: invalid-token.');
    const failures = m.events.filter((e) => e.type === 'csrf-failure');
    expect(failures).toEqual([{ type: 'csrf-failure', reason: 'invalid-token', method: 'PUT' }]);
    const dump = JSON.stringify([m.events, error, (error as Error).message]);
    expect(dump).not.toContain(bad);
    expect(dump).not.toContain(token.slice(0, 20));
  });

  it('a listener that throws does not change the outcome', async () => {
    const m = manager({
      onEvent: () => {
        throw new Error('listener broke');
      },
    });
    expect(await check(m, undefined, {})).toBe('missing-token');
  });

  it.each<[string, CsrfOptions]>([
    ['a wildcard origin', { origins: ['*'] }],
    ['an origin with a user name only', { origins: ['https://user@example.com'] }],
    ['an origin with a password only', { origins: ['https://:pw@example.com'] }],
    ['a wildcard subdomain', { origins: ['https://*.example.com'] }],
    ['an origin with a path', { origins: ['https://example.com/app'] }],
    ['an origin with a query', { origins: ['https://example.com?x'] }],
    ['an origin with credentials', { origins: ['https://user:pw@example.com'] }],
    ['a non-http origin', { origins: ['ftp://example.com'] }],
    ['the null origin', { origins: ['null'] }],
    ['a bare host', { origins: ['example.com'] }],
    ['a non-string origin', { origins: [42 as unknown as string] }],
    ['origins not an array', { origins: 'https://example.com' as unknown as string[] }],
    ['an except path without a slash', { except: ['webhooks'] }],
    ['an except path with a query', { except: ['/hook?x=1'] }],
    ['a global RegExp', { except: [/^\/hook/g] }],
    ['a sticky RegExp', { except: [/^\/hook/y] }],
    ['a number in except', { except: [1 as unknown as string] }],
  ])('%s → ERR_SESSION_CONFIG at construction', (_name, options) => {
    const m = manager();
    expect(() => createCsrfProtection(m, options)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it.each<[string, unknown, string]>([
    [
      'origins not an array',
      { origins: 'https://example.com' },
      'CSRF option `origins` must be an array of origin strings.',
    ],
    [
      'a non-string origin',
      { origins: ['https://example.com', 42] },
      'CSRF option `origins[1]` must be a string. Give exactly `scheme://host[:port]`, e.g. "https://app.example.com".',
    ],
    ...[
      'https://example.com/app',
      'https://example.com\\app',
      'https://example.com?x',
      'https://example.com/?',
      'https://example.com#x',
      'https://user@example.com',
      'https://@example.com',
      'https://*.example.com',
      'https://:443',
      'https://example.com:port',
      ' https://example.com',
      'ftp://example.com',
      'xhttps://example.com',
    ].map((origin): [string, unknown, string] => [
      JSON.stringify(origin),
      { origins: [origin] },
      'CSRF option `origins[0]` is not an http(s) origin (no path, query, wildcard or credentials). Give exactly `scheme://host[:port]`, e.g. "https://app.example.com".',
    ]),
    [
      'except not an array',
      { except: '/hook' },
      'CSRF option `except` must be an array of path strings or RegExps.',
    ],
    [
      'an except path without a slash',
      { except: ['/ok', 'hook'] },
      'CSRF option `except[1]` must be a path starting with "/", without query or fragment.',
    ],
    [
      'an except path with a fragment',
      { except: ['/hook#x'] },
      'CSRF option `except[0]` must be a path starting with "/", without query or fragment.',
    ],
    [
      'a global RegExp',
      { except: [/^\/hook/g] },
      'CSRF option `except[0]`: a RegExp with the g or y flag keeps state between tests; drop the flag.',
    ],
    [
      'a number in except',
      { except: [1] },
      'CSRF option `except[0]` must be a path string or a RegExp.',
    ],
    [
      'options that are not an object',
      null,
      'CSRF options must be an object ({ origins?, except? }).',
    ],
  ])('%s: the message names the option and the fix', (_name, options, message) => {
    const m = manager();
    expect(() => createCsrfProtection(m, options as CsrfOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG', message }),
    );
  });

  it('normalizes configured origins: case, default port, one trailing slash', async () => {
    const m = manager();
    const { cookie, token } = await withToken(m);
    const options = { origins: ['HTTPS://Shop.Example.COM:443/', 'http://[::1]:8080'] };
    const ok = async (origin: string) =>
      check(m, cookie, { headers: { origin, [CSRF_HEADER]: token } }, options);
    expect(await ok('https://shop.example.com')).toBe('ok');
    expect(await ok('http://[::1]:8080')).toBe('ok');
    expect(await ok('https://shop.example.com:443')).toBe('origin-mismatch');
  });

  it('needs the manager', () => {
    expect(() => createCsrfProtection(undefined as unknown as TestManager)).toThrow(
      expect.objectContaining({
        code: 'ERR_SESSION_CONFIG',
        message: 'createCsrfProtection() needs the session manager as first argument.',
      }),
    );
  });
});
