/**
 * Header transports (`transport: 'bearer'` or `{ type: 'header' }`) through the manager's neutral
 * API: the option's validation, the strict parser, tokens in and out, the CSRF exemption. Over
 * real HTTP on every adapter: the adapter contract's bearer configuration; attacks:
 * test/security/stateless.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { headerToken, MAX_TOKEN_LENGTH, resolveTransport } from '../../src/core/transport.js';
import { createCsrfProtection } from '../../src/csrf/index.js';
import { isSessionError, type Session, type SessionResponse } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { manager, type TestManager } from './helpers.js';

const bearer = resolveTransport('bearer');

/** One request presenting `authorization` (header lines as node's headersDistinct gives them). */
async function call(
  m: TestManager,
  headers: Record<string, string | string[]>,
  handler: (s: Session<Record<string, unknown>, Record<string, unknown>>) => unknown,
): Promise<{ result: unknown; out: SessionResponse }> {
  const scope = m.begin({ header: (name) => headers[name], cookie: headers.cookie });
  const result = await handler(scope.session);
  return { result, out: await scope.end() };
}

describe('the transport option', () => {
  it('defaults to the cookie; bearer and named headers resolve to their headers', () => {
    expect(resolveTransport(undefined)).toEqual({
      kind: 'cookie',
      requestHeader: 'cookie',
      responseHeader: undefined,
      varyOn: 'Cookie',
    });
    expect(bearer).toEqual({
      kind: 'bearer',
      requestHeader: 'authorization',
      responseHeader: 'session-token',
      varyOn: 'Authorization',
    });
    expect(
      resolveTransport({
        type: 'header',
        header: 'X-Api-Session',
        responseHeader: 'X-New-Session',
      }),
    ).toEqual({
      kind: 'header',
      requestHeader: 'x-api-session',
      responseHeader: 'x-new-session',
      varyOn: 'x-api-session',
    });
  });

  it('refuses unknown types, bad or reserved header names, and a header name with bearer', () => {
    for (const option of [
      'jwt',
      { type: 'cookie' },
      { type: 'header', header: 'bad name' },
      { type: 'header', header: 'x-a;b' },
      { type: 'header', header: 'Cookie' },
      { type: 'header', header: 'authorization' },
      { type: 'bearer', responseHeader: 'Set-Cookie' },
      { type: 'bearer', header: 'x-token' },
    ]) {
      let error: unknown;
      try {
        resolveTransport(option as never);
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(option)).toBe(true);
    }
  });
});

describe('strict Authorization parsing', () => {
  const token = `${'a'.repeat(43)}.${'b'.repeat(43)}`;

  it('accepts exactly one line "Bearer <token68>"', () => {
    expect(headerToken(bearer, `Bearer ${token}`)).toEqual([token]);
    expect(headerToken(bearer, [`Bearer ${token}`])).toEqual([token]);
    expect(headerToken(bearer, 'Bearer abc+/~-._==')).toEqual(['abc+/~-._==']);
    expect(headerToken(bearer, undefined)).toEqual([]);
    expect(headerToken(bearer, [])).toEqual([]);
  });

  it.each([
    ['a lower-case scheme', `bearer ${token}`],
    ['an upper-case scheme', `BEARER ${token}`],
    ['two spaces', `Bearer  ${token}`],
    ['a tab', `Bearer\t${token}`],
    ['a trailing space', `Bearer ${token} `],
    ['two tokens', `Bearer ${token} ${token}`],
    ['two credentials joined by a comma', `Bearer ${token}, Bearer ${token}`],
    ['another scheme', `Basic ${token}`],
    ['no token', 'Bearer '],
    ['the scheme alone', 'Bearer'],
    ['padding inside', 'Bearer ab=cd'],
    ['a quote', 'Bearer "abc"'],
    ['non-ASCII', 'Bearer abcé'],
    ['too long', `Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 1)}`],
  ])('%s is a malformed token (anonymous)', (_, line) => {
    expect(headerToken(bearer, line)).toEqual(['']);
  });

  it('two Authorization header lines are malformed, whatever they hold', () => {
    expect(headerToken(bearer, [`Bearer ${token}`, `Bearer ${token}`])).toEqual(['']);
  });

  it('a named header holds the bare token, one line, token68 only', () => {
    const named = resolveTransport({ type: 'header' });
    expect(headerToken(named, token)).toEqual([token]);
    expect(headerToken(named, `Bearer ${token}`)).toEqual(['']);
    expect(headerToken(named, [token, token])).toEqual(['']);
    expect(headerToken(named, `${token},${token}`)).toEqual(['']);
  });
});

describe('bearer tokens through the manager', () => {
  it('a server-side session: the token goes out in Session-Token, comes back in Authorization', async () => {
    const m = manager({ transport: 'bearer' });
    expect(m.transport).toBe('bearer');
    const created = await call(m, {}, (s) => s.set('a', 1));
    expect(created.out.setCookie).toEqual([]);
    expect(created.out.varyOn).toBe('Authorization');
    const [name, token] = created.out.token!;
    expect(name).toBe('session-token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    const read = await call(m, { authorization: `Bearer ${token}` }, (s) => s.get('a'));
    expect(read.result).toBe(1);
    expect(read.out.token).toBeUndefined();
    expect(read.out.vary).toBe(true);
    const rotated = await call(m, { authorization: `Bearer ${token}` }, (s) => s.regenerate());
    expect(rotated.out.token![1]).not.toBe(token);
    const ended = await call(m, { authorization: `Bearer ${rotated.out.token![1]}` }, (s) =>
      s.destroy(),
    );
    expect(ended.out.token).toEqual(['session-token', '']);
  });

  it('the cookie is ignored with a header transport, and Authorization with the cookie transport', async () => {
    const cookieManager = manager();
    const issued = await call(cookieManager, {}, (s) => s.set('a', 1));
    const pair = issued.out.setCookie[0]!.split(';')[0]!;
    const token = pair.slice(pair.indexOf('=') + 1);
    expect(
      (await call(cookieManager, { authorization: `Bearer ${token}` }, (s) => s.all())).result,
    ).toEqual({});
    // The same store and secret, over Authorization: the token works there, the cookie does not.
    const m = manager({ transport: 'bearer', store: cookieManager.store });
    expect((await call(m, { cookie: pair }, (s) => s.all())).result).toEqual({});
    expect((await call(m, { authorization: `Bearer ${token}` }, (s) => s.all())).result).toEqual({
      a: 1,
    });
  });

  it('a malformed Authorization header is anonymous with an invalid-cookie event, never an error', async () => {
    const m = manager({ transport: 'bearer' });
    const read = await call(m, { authorization: 'bearer nope' }, (s) => s.all());
    expect(read.result).toEqual({});
    expect(read.out.token).toBeUndefined();
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'malformed' }),
    );
  });

  it('a sealed session travels whole in the header; above 8192 characters the commit fails', async () => {
    const m = manager({ transport: 'bearer', store: cookieStore() });
    const created = await call(m, {}, (s) => s.set('cart', [1, 2, 3]));
    const token = created.out.token![1];
    expect(token.split('.')).toHaveLength(3);
    const read = await call(m, { authorization: `Bearer ${token}` }, (s) => s.get('cart'));
    expect(read.result).toEqual([1, 2, 3]);
    const big = m.begin({ header: () => `Bearer ${token}` });
    big.session.set('blob', 'x'.repeat(7000));
    const error = await big.end().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toMatch(
      /sealed session token is \d+ bytes; the limit is 8192 bytes/,
    );
  });

  it('a named header transport reads and answers its own headers', async () => {
    const m = manager({
      transport: { type: 'header', header: 'x-session', responseHeader: 'x-session' },
    });
    const created = await call(m, {}, (s) => s.set('a', 1));
    expect(created.out.token![0]).toBe('x-session');
    const read = await call(m, { 'x-session': created.out.token![1] }, (s) => s.get('a'));
    expect(read.result).toBe(1);
    expect(read.out.varyOn).toBe('x-session');
  });
});

describe('CSRF and header transports', () => {
  const post = { method: 'POST', path: '/x', headers: () => undefined, scheme: 'http' as const };

  it('does not apply with a header transport (no ambient credential); applies with the cookie', async () => {
    const m = manager({ transport: 'bearer' });
    const scope = m.begin({});
    await expect(createCsrfProtection(m).verify(post, scope.session)).resolves.toBeUndefined();
    const c = manager();
    const error = await createCsrfProtection(c)
      .verify(post, c.begin({}).session)
      .catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_CSRF')).toBe(true);
  });
});
