/**
 * Attack suite — CSRF bypass attempts over real HTTP against every adapter with a CSRF
 * middleware, on every store of the matrix (SECURITY.md §4, §17). Complements
 * test/adapters/csrf.test.ts (the per-rule bypass table on the memory store) with attacks on the
 * token's binding to a session's life — tokens of logged-out, expired, rotated and foreign
 * sessions — lookalike origins, type confusion in parsed bodies, and a store outage during the
 * check. Every refusal must be a generic 403 (503 for the outage), `no-store`, without
 * `Set-Cookie`, and the handler must not have run.
 */

import { describe, expect, it } from 'vitest';
import { type Harness, matrix, type RequestOptions, STACK_MARKERS, start } from './targets.js';

const MINUTE = 60_000;

/** The harness's set-up routes skip the check; the attacks all target `/action`. */
const CSRF = {
  except: [
    '/set',
    '/login',
    '/logout',
    '/logout-everywhere',
    '/merge',
    '/set-path',
    '/big',
    '/revoke',
  ],
};

/** A session with a token; returns its cookie, token and own origin. */
async function armed(h: Harness, userId?: string): Promise<{ cookie: string; token: string }> {
  const cookie = userId === undefined ? await h.newSession() : await h.login(userId);
  const reply = await h.req('GET', '/csrf-token', { cookie });
  const token = (reply.json as { token: string }).token;
  expect(token).toMatch(/^[A-Za-z0-9_-]{86}$/);
  return { cookie, token };
}

/** A JSON body with a `__proto__` key, which some frameworks' parsers refuse with a 400. */
function adapterRefusesBody(options: RequestOptions): boolean {
  return options.raw?.includes('"__proto__"') === true;
}

async function expectRefused(
  h: Harness,
  label: string,
  method: string,
  options: RequestOptions,
  status = 403,
): Promise<void> {
  const before = h.counters.actions;
  const reply = await h.req(method, '/action', options);
  expect(reply.setCookies, label).toEqual([]);
  expect(h.counters.actions, `${label}: the handler ran`).toBe(before);
  // A body the framework's own parser refuses (Fastify: `__proto__` keys) never reaches the check.
  if (reply.status === 400 && adapterRefusesBody(options)) return;
  expect(reply.status, label).toBe(status);
  expect(reply.headers.get('cache-control'), label).toMatch(/\bno-store\b/);
  expect(reply.text.length, label).toBeLessThan(60);
  for (const leak of [...STACK_MARKERS, ...h.forbidden()])
    expect(reply.text, label).not.toContain(leak);
  expect(h.counters.actions, `${label}: the handler ran`).toBe(before);
}

for (const [adapter, storeTarget] of matrix(import.meta.url).filter(([a]) => a.csrf)) {
  describe(`CSRF attacks: ${adapter.name} × ${storeTarget.name}`, () => {
    const boot = (manager = {}) => start(adapter, storeTarget, { csrf: CSRF, manager });

    it('positive controls: a valid token in the header, a JSON field or a form field passes', async () => {
      const h = await boot();
      const { cookie, token } = await armed(h);
      const origin = h.url;
      const ok = [
        { cookie, headers: { 'x-csrf-token': token, origin } },
        { cookie, json: { _csrf: token }, headers: { 'sec-fetch-site': 'same-origin' } },
        {
          cookie,
          raw: `_csrf=${token}&x=1`,
          contentType: 'application/x-www-form-urlencoded',
          headers: { origin },
        },
      ];
      for (const options of ok) expect((await h.req('POST', '/action', options)).status).toBe(200);
      expect(h.counters.actions).toBe(3);
    });

    it('tokens die with their session: logout, expiry, login rotation and revokeAll', async () => {
      const h = await boot({ idleTimeout: 10 * MINUTE, absoluteTimeout: 60 * MINUTE });
      // Logged out: the old cookie and its token, or a fresh session with the old token.
      const a = await armed(h, 'alice');
      await h.req('POST', '/logout', { cookie: a.cookie, headers: { 'x-csrf-token': a.token } });
      await expectRefused(h, 'after logout', 'POST', {
        cookie: a.cookie,
        headers: { 'x-csrf-token': a.token },
      });
      const fresh = await h.newSession();
      await expectRefused(h, 'old token, new session', 'POST', {
        cookie: fresh,
        headers: { 'x-csrf-token': a.token },
      });
      // Expired.
      const b = await armed(h);
      h.clock.advance(11 * MINUTE);
      await expectRefused(h, 'after expiry', 'POST', {
        cookie: b.cookie,
        headers: { 'x-csrf-token': b.token },
      });
      // Rotated at login: the pre-login token no longer works on the new session.
      const c = await armed(h);
      const after = await h.login('carol', c.cookie);
      await expectRefused(h, 'pre-login token', 'POST', {
        cookie: after,
        headers: { 'x-csrf-token': c.token },
      });
      // Revoked everywhere.
      const d = await armed(h, 'dave');
      const other = await h.login('dave');
      await h.req('POST', '/logout-everywhere', {
        cookie: other,
        headers: { 'x-csrf-token': (await armed(h)).token },
      });
      await expectRefused(h, 'revoked device', 'POST', {
        cookie: d.cookie,
        headers: { 'x-csrf-token': d.token },
      });
    });

    it("a foreign app's token, or a token minted for the attacker's own session, never passes", async () => {
      const h = await boot();
      const other = await start(adapter, storeTarget, {
        csrf: CSRF,
        backend: h.backend,
        clock: h.clock,
      });
      const victim = await armed(h);
      const foreign = await armed(other);
      const attacker = await armed(h);
      await expectRefused(h, 'foreign token', 'POST', {
        cookie: victim.cookie,
        headers: { 'x-csrf-token': foreign.token },
      });
      await expectRefused(h, "attacker's own token", 'POST', {
        cookie: victim.cookie,
        headers: { 'x-csrf-token': attacker.token },
      });
      await expectRefused(h, 'no session at all', 'POST', {
        headers: { 'x-csrf-token': attacker.token },
      });
    });

    it('lookalike origins and fetch-metadata variants are refused even with a valid token', async () => {
      const h = await boot();
      const { cookie, token } = await armed(h);
      const { host, port } = new URL(h.url);
      const attempts: [string, Record<string, string>][] = [
        ['suffix domain', { origin: `${h.url}.evil.example` }],
        ['prefix domain', { origin: `http://evil-127.0.0.1:${port}` }],
        ['userinfo', { origin: `http://${host}@evil.example` }],
        ['other port', { origin: `http://127.0.0.1:${Number(port) + 1}` }],
        ['other scheme', { origin: `https://${host}` }],
        ['trailing path', { origin: `${h.url}/` }],
        ['localhost alias', { origin: `http://localhost:${port}` }],
        ['Sec-Fetch-Site mixed case', { 'sec-fetch-site': 'Cross-Site', origin: h.url }],
        ['Sec-Fetch-Site padded', { 'sec-fetch-site': ' cross-site ', origin: h.url }],
        [
          'Origin null with same-origin metadata',
          { origin: 'null', 'sec-fetch-site': 'same-origin' },
        ],
        ['foreign Referer lookalike', { referer: `${h.url}.evil.example/form` }],
        ['Referer with credentials', { referer: `http://${host}@evil.example/` }],
      ];
      for (const [label, headers] of attempts) {
        await expectRefused(h, label, 'POST', {
          cookie,
          headers: { ...headers, 'x-csrf-token': token },
        });
      }
    });

    it('type confusion in parsed bodies: arrays, objects, __proto__, padding and empty tokens', async () => {
      const h = await boot();
      const { cookie, token } = await armed(h);
      const json = (raw: string): RequestOptions => ({
        cookie,
        raw,
        contentType: 'application/json',
      });
      const attempts: [string, string, RequestOptions][] = [
        ['array field', 'POST', json(`{"_csrf":["${token}"]}`)],
        ['object field', 'POST', json(`{"_csrf":{"toString":"${token}"}}`)],
        ['inherited field', 'POST', json(`{"__proto__":{"_csrf":"${token}"}}`)],
        ['nested field', 'POST', json(`{"data":{"_csrf":"${token}"}}`)],
        ['number field', 'POST', json('{"_csrf":0}')],
        ['empty field', 'POST', json('{"_csrf":""}')],
        ['padded header', 'POST', { cookie, headers: { 'x-csrf-token': ` ${token}x` } }],
        ['empty header', 'POST', { cookie, headers: { 'x-csrf-token': '' } }],
        [
          'repeated form field',
          'POST',
          {
            cookie,
            raw: `_csrf=${token}&_csrf=${token}x`,
            contentType: 'application/x-www-form-urlencoded',
          },
        ],
        [
          'token only in a cookie',
          'POST',
          { cookie: `${cookie}; _csrf=${token}; x-csrf-token=${token}` },
        ],
        ['PUT without token', 'PUT', { cookie }],
        ['PATCH without token', 'PATCH', { cookie }],
        ['DELETE without token', 'DELETE', { cookie }],
        [
          'method override to GET',
          'POST',
          { cookie, headers: { 'x-http-method-override': 'GET' } },
        ],
      ];
      for (const [label, method, options] of attempts)
        await expectRefused(h, label, method, options);
    });

    it('a store outage during the check is a 503 (not a pass, not a 403) and the handler does not run', async () => {
      const h = await boot();
      const { cookie, token } = await armed(h);
      h.probe.failing.add('get');
      await expectRefused(h, 'outage', 'POST', { cookie, headers: { 'x-csrf-token': token } }, 503);
      h.probe.failing.clear();
      expect(
        (await h.req('POST', '/action', { cookie, headers: { 'x-csrf-token': token } })).status,
      ).toBe(200);
      // Every refusal above was reported without the token.
      const events = JSON.stringify(h.events);
      expect(events).not.toContain(token);
    });
  });
}
