/**
 * Attack suite — fixation, termination and store outages over real HTTP against every
 * adapter × store (SECURITY.md §2, §4, §6, §7, §20). In-flight requests are forced to
 * interleave with a gated slow writer; outages are injected by a store wrapper.
 */

import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createKeyRing, generateSessionId, hashSessionId } from '../../src/core/keys.js';
import { expectGenericFailure, matrix, start } from './targets.js';

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`sessions: ${adapter.name} × ${storeTarget.name}`, () => {
    it('fixation: an attacker-chosen id, even correctly shaped and "signed", is never adopted', async () => {
      const h = await start(adapter, storeTarget);
      const chosen = generateSessionId();
      const sig = createKeyRing('attacker-guess-'.padEnd(40, 'xyz0123456789')).sign(
        'cookie-sign',
        chosen,
      );
      const name = h.manager.cookieName;
      for (const cookie of [`${name}=${chosen}`, `${name}=${chosen}.${sig}`]) {
        const reply = await h.req('POST', '/login', { cookie, json: { userId: 'victim' } });
        const [set] = h.cookies(reply);
        expect(h.idOf(set!.pair)).not.toBe(chosen);
      }
      expect(await h.raw.get(hashSessionId(chosen))).toBeUndefined();
      expect(await h.backend.dump()).not.toContain(hashSessionId(chosen));
    });

    it('fixation: an issued anonymous id is replaced at login; the pre-login id is dead', async () => {
      const h = await start(adapter, storeTarget);
      const before = await h.newSession({ cart: 3 });
      const after = await h.login('alice', before);
      expect(h.idOf(after)).not.toBe(h.idOf(before));
      expect(await h.raw.get(h.keyOf(before))).toBeUndefined();
      expect((await h.req('GET', '/whoami', { cookie: before })).json).toEqual({
        data: {},
        userId: null,
        flagged: false,
      });
      // Data is kept by default across the rotation.
      expect((await h.req('GET', '/whoami', { cookie: after })).json).toMatchObject({
        data: { cart: 3 },
        userId: 'alice',
      });
      // Re-authentication (a second login, another user) rotates again.
      const again = await h.login('bob', after);
      expect(h.idOf(again)).not.toBe(h.idOf(after));
      expect((await h.req('GET', '/whoami', { cookie: after })).json).toMatchObject({
        userId: null,
      });
    });

    it('logout is final: record deleted, cookie expired, replay anonymous, writes start afresh', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.login('alice');
      const reply = await h.req('POST', '/logout', { cookie: pair });
      expect(h.cookies(reply)[0]!.attribute('max-age')).toBe('0');
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
      const write = await h.req('POST', '/set', { cookie: pair, json: { values: { x: 1 } } });
      const [set] = h.cookies(write);
      expect(h.idOf(set!.pair)).not.toBe(h.idOf(pair));
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
    });

    it('logout everywhere (revokeAll) ends every device of the user, not other users', async () => {
      const h = await start(adapter, storeTarget);
      const phone = await h.login('alice');
      const laptop = await h.login('alice');
      const bob = await h.login('bob');
      const reply = await h.req('POST', '/logout-everywhere', { cookie: laptop });
      expect(reply.json).toEqual({ count: 2 });
      for (const cookie of [phone, laptop]) {
        expect((await h.req('GET', '/whoami', { cookie })).json).toMatchObject({ userId: null });
      }
      expect((await h.req('GET', '/whoami', { cookie: bob })).json).toMatchObject({
        userId: 'bob',
      });
    });

    it('logout is final against an in-flight request: the slow writer gets 409 and resurrects nothing', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.login('alice');
      const slow = h.req('POST', '/slow-set', { cookie: pair });
      await h.gates.loaded;
      expect((await h.req('POST', '/logout', { cookie: pair })).status).toBe(200);
      h.gates.release();
      const late = await slow;
      expect(late.status).toBe(409);
      expect(late.setCookies).toEqual([]);
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: {},
        userId: null,
      });
    });

    it('revokeAll is final against an in-flight request of a revoked device', async () => {
      const h = await start(adapter, storeTarget);
      const phone = await h.login('alice');
      const laptop = await h.login('alice');
      const slow = h.req('POST', '/slow-set', { cookie: phone });
      await h.gates.loaded;
      expect((await h.req('POST', '/logout-everywhere', { cookie: laptop })).json).toEqual({
        count: 2,
      });
      h.gates.release();
      expect((await slow).status).toBe(409);
      expect(await h.raw.get(h.keyOf(phone))).toBeUndefined();
      expect(await h.backend.dump()).not.toContain('"late"');
    });

    it('fingerprint: a spoofed X-Forwarded-For is ignored without trust proxy; a changed user agent destroys', async () => {
      const h = await start(adapter, storeTarget, {
        manager: { fingerprint: { ip: true, userAgent: true, policy: 'destroy' } },
      });
      const ua = { 'user-agent': 'Browser/1.0' };
      const reply = await h.req('POST', '/login', { json: { userId: 'alice' }, headers: ua });
      const pair = h.cookies(reply)[0]!.pair;
      for (const forwarded of ['6.6.6.6', '127.0.0.1, 6.6.6.6', '::1']) {
        const spoofed = await h.req('GET', '/whoami', {
          cookie: pair,
          headers: {
            ...ua,
            'x-forwarded-for': forwarded,
            'x-real-ip': forwarded,
            forwarded: `for=${forwarded}`,
          },
        });
        expect(spoofed.json, forwarded).toMatchObject({ userId: 'alice', flagged: false });
      }
      const stolen = await h.req('GET', '/whoami', {
        cookie: pair,
        headers: { 'user-agent': 'curl/8' },
      });
      expect(stolen.json).toMatchObject({ userId: null });
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
      expect(
        h.events.some((e) => e.type === 'fingerprint-mismatch' && e.policy === 'destroy'),
      ).toBe(true);
    });

    it('fingerprint: a session created without a User-Agent stays bound to its absence', async () => {
      const h = await start(adapter, storeTarget, {
        manager: { fingerprint: { userAgent: true, policy: 'destroy' } },
      });
      const login = await bare(h.url, 'POST', '/login', undefined, '{"userId":"alice"}');
      const pair = login.cookie!;
      expect((await bare(h.url, 'GET', '/whoami', pair)).json).toMatchObject({ userId: 'alice' });
      // fetch sends `User-Agent: node`: another client than the one without a header.
      const other = await h.req('GET', '/whoami', { cookie: pair });
      expect(other.json).toMatchObject({ userId: null });
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
      expect((await bare(h.url, 'GET', '/whoami', pair)).json).toMatchObject({ userId: null });
    });

    it('devices: deviceInfo minimal stores only the network and the browser family; binding still holds', async () => {
      const h = await start(adapter, storeTarget, {
        manager: {
          deviceInfo: 'minimal',
          fingerprint: { ip: true, userAgent: true, policy: 'destroy' },
        },
      });
      const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
      const headers = { 'user-agent': ua };
      const login = await h.req('POST', '/login', { json: { userId: 'alice' }, headers });
      const pair = h.cookies(login)[0]!.pair;
      const dump = await h.backend.dump();
      for (const raw of [ua, 'Firefox/128', 'Win64', '127.0.0.1']) expect(dump).not.toContain(raw);
      const [device] = await h.manager.listSessions('alice');
      expect(device).toMatchObject({ userAgent: 'Firefox on Windows' });
      // Adapters that are given no client address (hono, fetch here) record none.
      expect([null, '127.0.0.0/24']).toContain(device!.ip);
      // The devices page shows the family; the binding still compares the whole User-Agent.
      const same = await h.req('GET', '/whoami', { cookie: pair, headers });
      expect(same.json).toMatchObject({ userId: 'alice', flagged: false });
      const sibling = ua.replace('128.0', '129.0');
      const other = await h.req('GET', '/whoami', {
        cookie: pair,
        headers: { 'user-agent': sibling },
      });
      expect(other.json).toMatchObject({ userId: null });
      expect(await h.raw.get(h.keyOf(pair))).toBeUndefined();
    });

    it('lock mode: a holder whose lease lapsed cannot write its stale read over the next holder (409, nothing lost)', async () => {
      const h = await start(adapter, storeTarget, {
        manager: { concurrency: 'lock', lock: { ttl: 200, wait: 5_000 } },
      });
      const pair = await h.newSession({ n: 0 });
      const stale = h.req('POST', '/slow-increment', { cookie: pair });
      await h.gates.loaded;
      h.clock.advance(1_000); // the store lease lapses; the local turn lapses after 200 ms
      const next = await h.req('POST', '/increment', { cookie: pair });
      expect(next.json).toEqual({ n: 1 });
      h.gates.release();
      const late = await stale;
      expect(late.status).toBe(409);
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { n: 1 },
      });
      expect(h.events.some((e) => e.type === 'conflict')).toBe(true);
    });

    it('outage: a failing read is 503, no-store, generic, no Set-Cookie; the cookie survives', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.newSession({ kept: true });
      h.probe.failing.add('get');
      expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: pair }), 503);
      expectGenericFailure(h, await h.req('POST', '/logout', { cookie: pair }), 503);
      h.probe.failing.clear();
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { kept: true },
      });
      expect(h.events).toContainEqual({
        type: 'store-error',
        operation: 'get',
        code: 'ERR_SESSION_STORE',
      });
    });

    it('outage: a hanging store is a 503 after storeTimeout, never a hung request or a 200', async () => {
      const h = await start(adapter, storeTarget, { manager: { storeTimeout: 500 } });
      const pair = await h.newSession({ kept: true });
      h.probe.hanging.add('get');
      expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: pair }), 503);
      h.probe.hanging.clear();
      h.probe.hanging.add('set');
      expectGenericFailure(
        h,
        await h.req('POST', '/set', { cookie: pair, json: { values: { lost: 1 } } }),
        503,
      );
      h.probe.hanging.clear();
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { kept: true },
      });
    });

    it('outage: failing writes and deletes answer 503 before any header — never success with a cookie', async () => {
      const h = await start(adapter, storeTarget);
      h.probe.failing.add('set');
      expectGenericFailure(h, await h.req('POST', '/set', { json: { values: { a: 1 } } }), 503);
      expectGenericFailure(h, await h.req('POST', '/login', { json: { userId: 'alice' } }), 503);
      h.probe.failing.clear();
      const pair = await h.login('alice');
      h.probe.failing.add('delete');
      expectGenericFailure(h, await h.req('POST', '/logout', { cookie: pair }), 503);
      h.probe.failing.clear();
      // The logout did not happen, and the client was not told it did.
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        userId: 'alice',
      });
    });
  });
}

/** A request through node:http, which sends no header of its own (no User-Agent). */
function bare(
  url: string,
  method: string,
  path: string,
  cookie?: string,
  json?: string,
): Promise<{ json: unknown; cookie: string | undefined }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (cookie !== undefined) headers.cookie = cookie;
  if (json !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          resolve({
            json: JSON.parse(body),
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
          });
        } catch (error) {
          reject(new Error(`${res.statusCode}: ${body}`, { cause: error }));
        }
      });
    });
    req.on('error', reject);
    req.end(json);
  });
}
