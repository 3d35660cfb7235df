/**
 * Attack suite — sealed-cookie sessions and the Bearer transport over real HTTP on every adapter
 * (SECURITY.md §6, §11–§13, §22, "Anonymous"): bit flips in every part of a sealed token,
 * truncated, reordered and mixed chunks, chunk-count amplification, replay after logout and after
 * revokeAll, expired and not-yet-valid tokens, wrong and removed key ids, oversized cookies and
 * tokens, malformed Authorization headers. Each is an anonymous request: a 200 that sees no data
 * and no user, no `Set-Cookie` or token, no write to the revocation store, never a 5xx.
 */

import { describe, expect, it } from 'vitest';
import type { SessionManagerOptions } from '../../src/core/manager.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { Jar } from '../support/cookie-jar.js';
import type { ProbeStore } from '../support/probe-store.js';
import {
  ADAPTERS,
  type AdapterTarget,
  flip,
  type Harness,
  probedBackend,
  type Reply,
  rawRequest,
  STORES,
  sealedFlipPositions,
  start,
} from './targets.js';

const MINUTE = 60_000;
const ANONYMOUS = { data: {}, userId: null, flagged: false };
const memory = STORES.find((s) => s.name === 'memory')!;

interface Target {
  h: Harness;
  /** The revocation store, probed: an anonymous request must never reach it. */
  revocation: ProbeStore;
  /** The session cookie's name (`__Host-sid`). */
  name: string;
  /** The `Cookie` header a jar of `Set-Cookie` lines holds. */
  jar(reply: Reply, from?: Jar): Jar;
}

/** A sealed-cookie manager (revocation over a probed memory store) served by `adapter`. */
async function sealedTarget(
  adapter: AdapterTarget,
  manager: Partial<SessionManagerOptions> = {},
  options: { leeway?: number } = {},
): Promise<Target> {
  const { clock, backend, probe: revocation } = await probedBackend(memory);
  const store = cookieStore({ revocation, leeway: options.leeway ?? 0 });
  const h = await start(adapter, memory, { backend, clock, manager: { store, ...manager } });
  return {
    h,
    revocation,
    name: h.manager.cookieName,
    jar: (reply, from) => (from ?? new Jar()).take(reply.setCookies),
  };
}

/** Check that `header` is an anonymous request: no data, no user, nothing issued, nothing written. */
async function expectAnonymous(
  target: Target,
  header: string | undefined,
  label = '',
): Promise<void> {
  const { h, revocation } = target;
  const writes = revocation.calls.get('set') ?? 0;
  const reply = await h.req('GET', '/whoami', { cookie: header });
  expect(reply.status, label).toBe(200);
  expect(reply.json, label).toEqual(ANONYMOUS);
  expect(reply.setCookies, label).toEqual([]);
  expect(reply.headers.get('session-token'), label).toBeNull();
  expect(revocation.calls.get('set') ?? 0, label).toBe(writes);
}

for (const adapter of ADAPTERS) {
  describe(`sealed cookies under attack: ${adapter.name}`, () => {
    it('bit flips in every part of a sealed token (key id, IV, ciphertext, tag) are anonymous', async () => {
      const target = await sealedTarget(adapter);
      const { h, name } = target;
      const jar = target.jar(await h.req('POST', '/login', { json: { userId: 'victim' } }));
      const token = jar.get(name)!;
      expect((await h.req('GET', '/whoami', { cookie: jar.header })).json).toMatchObject({
        userId: 'victim',
      });
      for (const index of sealedFlipPositions(token, 40, [0, 1])) {
        await expectAnonymous(target, `${name}=${flip(token, index)}`, `flip at ${index}`);
      }
      // The separators too.
      const body = token.slice(token.lastIndexOf('.') + 1);
      await expectAnonymous(target, `${name}=${token.replace('.', '_')}`, 'first separator');
      await expectAnonymous(
        target,
        `${name}=${token.replace(`.${body}`, `_${body}`)}`,
        'second separator',
      );
    });

    it('truncated, reordered, duplicated and mixed chunks of two sessions are anonymous', async () => {
      const target = await sealedTarget(adapter);
      const { h, name } = target;
      const blob = { bytes: 5000 };
      const a = target.jar(await h.req('POST', '/big', { json: blob }));
      const b = target.jar(await h.req('POST', '/big', { json: blob }));
      expect(a.names).toEqual([`${name}.0`, `${name}.1`]);
      expect((await h.req('GET', '/whoami', { cookie: a.header })).json).toMatchObject({
        data: { blob: 'x'.repeat(5000) },
      });
      const [a0, a1] = [a.get(`${name}.0`)!, a.get(`${name}.1`)!];
      const [b0, b1] = [b.get(`${name}.0`)!, b.get(`${name}.1`)!];
      const cases: Record<string, string> = {
        'last chunk missing': `${name}.0=${a0}`,
        'first chunk missing': `${name}.1=${a1}`,
        'chunk truncated': `${name}.0=${a0}; ${name}.1=${a1.slice(0, -5)}`,
        'chunks swapped': `${name}.0=${a1}; ${name}.1=${a0}`,
        'mixed: a0 + b1': `${name}.0=${a0}; ${name}.1=${b1}`,
        'mixed: b0 + a1': `${name}.0=${b0}; ${name}.1=${a1}`,
        'a chunk presented twice': `${name}.0=${a0}; ${name}.0=${b0}; ${name}.1=${a1}`,
        'a gap': `${name}.0=${a0}; ${name}.2=${a1}`,
        'joined into one cookie, cut': `${name}=${a0}${a1.slice(0, 100)}`,
        'chunks under another name': `${name}x.0=${a0}; ${name}x.1=${a1}`,
      };
      for (const [label, header] of Object.entries(cases))
        await expectAnonymous(target, header, label);
      // Both genuine sessions are intact.
      for (const jar of [a, b]) {
        expect((await h.req('GET', '/whoami', { cookie: jar.header })).json).toMatchObject({
          data: { blob: 'x'.repeat(5000) },
        });
      }
    });

    it('chunk-count amplification: hundreds of chunk cookies cost one failed open, and are anonymous', async () => {
      const target = await sealedTarget(adapter);
      const { h, name } = target;
      const many = Array.from({ length: 200 }, (_, i) => `${name}.${i}=${'A'.repeat(30)}`).join(
        '; ',
      );
      const before = h.events.length;
      await expectAnonymous(target, many, '200 chunks');
      const opened = h.events.slice(before).filter((e) => e.type === 'invalid-cookie');
      // `.0`…`.3` joined once: one malformed token, no more.
      expect(opened.length).toBeLessThanOrEqual(1);
      const padded = Array.from({ length: 4 }, (_, i) => `${name}.${i}=${'A'.repeat(4000)}`).join(
        '; ',
      );
      await expectAnonymous(target, padded, 'four full junk chunks');
    });

    it('replay after logout, after revokeAll and after a rotation is anonymous', async () => {
      const target = await sealedTarget(adapter);
      const { h, name } = target;
      const login = async (userId: string) =>
        target.jar(await h.req('POST', '/login', { json: { userId } })).header!;
      const loggedOut = await login('alice');
      await h.req('POST', '/logout', { cookie: loggedOut });
      await expectAnonymous(target, loggedOut, 'after logout');

      const phone = await login('alice');
      const laptop = await login('alice');
      const count = await h.req('POST', '/logout-everywhere', { cookie: laptop });
      expect(count.json).toEqual({ count: 2 });
      await expectAnonymous(target, phone, 'other device after revokeAll');
      await expectAnonymous(target, laptop, 'own device after revokeAll');

      const before = await login('bob');
      const rotated = target.jar(
        await h.req('POST', '/login', { cookie: before, json: { userId: 'bob' } }),
      );
      expect(rotated.get(name)).toBeDefined();
      await expectAnonymous(target, before, 'after a re-login');
      expect((await h.req('GET', '/whoami', { cookie: rotated.header })).json).toMatchObject({
        userId: 'bob',
      });
    });

    it('expired and not-yet-valid tokens are anonymous', async () => {
      const target = await sealedTarget(adapter, { idleTimeout: 10 * MINUTE });
      const { h } = target;
      const idle = target.jar(await h.req('POST', '/login', { json: { userId: 'alice' } })).header;
      h.clock.advance(10 * MINUTE);
      await expectAnonymous(target, idle, 'past the idle deadline');

      // A token sealed by a server whose clock runs 10 minutes ahead: not yet valid here.
      const ahead = await sealedTarget(adapter, {
        secrets: h.secrets.slice(0, 1),
        now: () => h.clock.now() + 10 * MINUTE,
      });
      const future = ahead.jar(await ahead.h.req('POST', '/set', { json: { values: { a: 1 } } }));
      await expectAnonymous(target, future.header, 'issued in the future');
      expect(h.events).toContainEqual(
        expect.objectContaining({ type: 'invalid-cookie', reason: 'claims' }),
      );
    });

    it('a wrong, unknown or removed key id is anonymous', async () => {
      const k1 = { id: 'k1', secret: 'Zq8wE2rT5yU7iO9pA1sD3fG4hJ6kL0xC' };
      const k2 = { id: 'k2', secret: 'Mn4bV6cX8zL1kJ3hG5fD7sA9pO2iU4yT' };
      const target = await sealedTarget(adapter, { secrets: [k2, k1] });
      const { h, name } = target;
      const jar = target.jar(await h.req('POST', '/set', { json: { values: { a: 1 } } }));
      const token = jar.get(name)!;
      expect(token.startsWith('k2.')).toBe(true);
      const rest = token.slice(2);
      for (const kid of ['k1', 'k3', '0', '', 'k2k2']) {
        await expectAnonymous(target, `${name}=${kid}${rest}`, `key id ${kid}`);
      }
      // Sealed under k1 while it was primary, then k1 removed from the ring: anonymous.
      const old = await sealedTarget(adapter, { secrets: [k1], now: h.clock.now });
      const sealedByK1 = old.jar(await old.h.req('POST', '/set', { json: { values: { a: 1 } } }));
      const removed = await sealedTarget(adapter, { secrets: [k2], now: h.clock.now });
      await expectAnonymous(removed, sealedByK1.header, 'removed key');
      // With k1 still in the ring (verify-only) it opens.
      expect((await h.req('GET', '/whoami', { cookie: sealedByK1.header })).json).toMatchObject({
        data: { a: 1 },
      });
    });

    it('oversized cookies are anonymous and never a 5xx', async () => {
      const target = await sealedTarget(adapter);
      const { name } = target;
      await expectAnonymous(target, `${name}=${'A'.repeat(4097)}`, 'one value over 4096');
      await expectAnonymous(
        target,
        `${name}=0.${'A'.repeat(16)}.${'A'.repeat(4000)}`,
        'token-shaped junk',
      );
      const four = Array.from({ length: 4 }, (_, i) => `${name}.${i}=0.${'B'.repeat(3990)}`).join(
        '; ',
      );
      await expectAnonymous(target, four, 'four chunks of junk');
    });
  });

  describe(`Bearer transport under attack: ${adapter.name}`, () => {
    it('malformed Authorization headers are anonymous: lower-case scheme, extra spaces, two headers, two tokens', async () => {
      const h = await start(adapter, memory, { manager: { transport: 'bearer' } });
      const created = await h.req('POST', '/login', { json: { userId: 'victim' } });
      const token = created.headers.get('session-token')!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      const ok = await h.req('GET', '/whoami', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.json).toMatchObject({ userId: 'victim' });
      const anonymous = async (authorization: string, label: string) => {
        const reply = await h.req('GET', '/whoami', { headers: { authorization } });
        expect(reply.status, label).toBe(200);
        expect(reply.json, label).toEqual(ANONYMOUS);
        expect(reply.headers.get('session-token'), label).toBeNull();
        expect(reply.setCookies, label).toEqual([]);
      };
      for (const [label, value] of [
        ['lower-case scheme', `bearer ${token}`],
        ['upper-case scheme', `BEARER ${token}`],
        ['two spaces', `Bearer  ${token}`],
        ['space inside the token', `Bearer ${token.slice(0, 40)} ${token.slice(40)}`],
        ['two tokens', `Bearer ${token} ${token}`],
        ['two credentials in one line', `Bearer ${token}, Bearer ${token}`],
        ['another scheme', `Basic ${token}`],
        ['quoted', `Bearer "${token}"`],
        ['oversized', `Bearer ${token}${'A'.repeat(9000)}`],
        ['the token with a flipped signature', `Bearer ${flip(token, 80)}`],
      ]) {
        await anonymous(value!, label!);
      }
      // Two Authorization header lines, sent as two lines on the wire: anonymous, not 5xx.
      const { status, text } = await rawRequest(
        h.url,
        `GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      );
      expect(status).toBe(200);
      expect(text).toContain('"userId":null');
      expect(text).not.toContain('victim');
      // The token in a cookie or in the query is not a credential either.
      const inCookie = await h.req('GET', `/whoami?token=${token}`, {
        cookie: `${h.manager.cookieName}=${token}`,
      });
      expect(inCookie.json).toEqual(ANONYMOUS);
    });

    it('a sealed session over Bearer: flipped, truncated and replayed-after-logout tokens are anonymous', async () => {
      const target = await sealedTarget(adapter, { transport: 'bearer' });
      const { h } = target;
      const created = await h.req('POST', '/login', { json: { userId: 'victim' } });
      const token = created.headers.get('session-token')!;
      const asBearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
      expect((await h.req('GET', '/whoami', asBearer(token))).json).toMatchObject({
        userId: 'victim',
      });
      for (const bad of [flip(token, 5), flip(token, token.length - 3), token.slice(0, -10)]) {
        const reply = await h.req('GET', '/whoami', asBearer(bad));
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual(ANONYMOUS);
      }
      const out = await h.req('POST', '/logout', asBearer(token));
      expect(out.headers.get('session-token')).toBe('');
      const replay = await h.req('GET', '/whoami', asBearer(token));
      expect(replay.json).toEqual(ANONYMOUS);
      expect(replay.headers.get('session-token')).toBeNull();
    });
  });
}
