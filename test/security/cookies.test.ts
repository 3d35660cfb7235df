/**
 * Attack suite — forged, expired and replayed cookies, transport and cookie attributes, over
 * real HTTP against every adapter × store (SECURITY.md §1, §2, §5, §6, §8, §13, §22 and
 * "Anonymous"). Each forged cookie must behave exactly like no cookie: 200, empty session, no
 * `Set-Cookie`, no 5xx — and, when its signature is wrong, no store call at all.
 */

import { describe, expect, it } from 'vitest';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/core/keys.js';
import { flip, type Harness, matrix, start } from './targets.js';

const MINUTE = 60_000;

/** The request is treated exactly like one without a cookie. */
async function expectAnonymous(h: Harness, cookie: string | undefined): Promise<void> {
  const reply = await h.req('GET', '/whoami', { cookie });
  expect(reply.status).toBe(200);
  expect(reply.json).toEqual({ data: {}, userId: null, flagged: false });
  expect(reply.setCookies).toEqual([]);
}

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`cookies: ${adapter.name} × ${storeTarget.name}`, () => {
    const boot = (manager = {}) => start(adapter, storeTarget, { manager });

    it('tampered: a changed id or signature character is anonymous and costs no store call', async () => {
      const h = await boot();
      const pair = await h.newSession({ secret: 'mine' });
      const [name, value] = pair.split('=') as [string, string];
      h.probe.reset();
      for (const index of [0, 21, 42, 44, 65, 86]) {
        await expectAnonymous(h, `${name}=${flip(value, index)}`);
      }
      expect(h.probe.log).toEqual([]);
      // The genuine cookie still works: tampering did not damage the session.
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { secret: 'mine' },
      });
    });

    it('truncated, extended, re-delimited or empty values are anonymous', async () => {
      const h = await boot();
      const pair = await h.newSession();
      const [name, value] = pair.split('=') as [string, string];
      h.probe.reset();
      for (const v of [
        '',
        value.slice(0, 43),
        value.slice(0, 44),
        value.slice(0, 86),
        `${value}A`,
        value.replace('.', ':'),
        `${value.slice(44)}.${value.slice(0, 43)}`,
        `"${value}`,
      ]) {
        await expectAnonymous(h, `${name}=${v}`);
      }
      expect(h.probe.log).toEqual([]);
    });

    it('re-signed with a wrong key: anonymous although the record exists', async () => {
      const h = await boot();
      const pair = await h.newSession({ secret: 'mine' });
      const id = h.idOf(pair);
      expect(await h.raw.get(hashSessionId(id))).toBeDefined();
      const forged = createKeyRing(generateSecret()).sign('cookie-sign', id);
      await expectAnonymous(h, `${h.manager.cookieName}=${id}.${forged}`);
      // Signed with the right secret but the wrong purpose (a CSRF subkey): still refused.
      const ring = createKeyRing(h.secrets[0]!);
      await expectAnonymous(h, `${h.manager.cookieName}=${id}.${ring.sign('csrf', id)}`);
      expect(h.events).toContainEqual({
        type: 'invalid-cookie',
        reason: 'signature',
        ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
      });
    });

    it('foreign: a valid cookie of another app (another secret) is anonymous here', async () => {
      const other = await boot();
      const h = await boot();
      const foreign = await other.newSession({ other: true });
      await expectAnonymous(h, foreign);
      // Same name, same format, even when the other app shares the backend.
      const shared = await start(adapter, storeTarget, { backend: h.backend, clock: h.clock });
      const theirs = await shared.newSession({ other: true });
      await expectAnonymous(h, theirs);
    });

    it('expired (idle): anonymous after the idle timeout, with an expire event', async () => {
      const h = await boot({ idleTimeout: 10 * MINUTE, absoluteTimeout: 60 * MINUTE });
      const pair = await h.newSession();
      h.clock.advance(10 * MINUTE + 1);
      await expectAnonymous(h, pair);
      // A later write through the dead cookie starts a new session under a new id.
      const reply = await h.req('POST', '/set', { cookie: pair, json: { values: { a: 1 } } });
      const [set] = h.cookies(reply);
      expect(set!.pair).not.toBe(pair);
      expect((await h.req('GET', '/whoami', { cookie: set!.pair })).json).toMatchObject({
        data: { a: 1 },
      });
    });

    it('expired (absolute): activity every 5 minutes never extends the absolute deadline', async () => {
      const h = await boot({
        idleTimeout: 10 * MINUTE,
        absoluteTimeout: 30 * MINUTE,
        touchInterval: 0,
      });
      const pair = await h.newSession({ n: 1 });
      for (let elapsed = 5; elapsed < 30; elapsed += 5) {
        h.clock.advance(5 * MINUTE);
        const reply = await h.req('POST', '/set', {
          cookie: pair,
          json: { values: { elapsed } },
        });
        expect(reply.status).toBe(200);
      }
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { n: 1, elapsed: 25 },
      });
      h.clock.advance(5 * MINUTE);
      await expectAnonymous(h, pair);
    });

    it('clock skew: the client cannot move deadlines (Date, Expires, cookie Max-Age are ignored)', async () => {
      const h = await boot({ idleTimeout: 10 * MINUTE, absoluteTimeout: 60 * MINUTE });
      const pair = await h.newSession();
      h.clock.advance(11 * MINUTE);
      const reply = await h.req('GET', '/whoami', {
        cookie: `${pair}; Max-Age=999999; Expires=Fri, 01 Jan 2100 00:00:00 GMT`,
        headers: { date: new Date(h.clock.now() - 60 * MINUTE).toUTCString() },
      });
      expect(reply.json).toMatchObject({ data: {} });
    });

    it('replayed after logout: the old cookie is anonymous and nothing is recreated', async () => {
      const h = await boot();
      const pair = await h.login('alice');
      const key = h.keyOf(pair);
      const out = await h.req('POST', '/logout', { cookie: pair });
      expect(h.cookies(out)[0]!.attribute('max-age')).toBe('0');
      await expectAnonymous(h, pair);
      await h.req('POST', '/action', { cookie: pair });
      expect(await h.raw.get(key)).toBeUndefined();
    });

    it('prefix bypass: a session cookie under a name padded with NBSP/NEL (or any non-SP/HTAB) is anonymous', async () => {
      const h = await boot();
      const victim = await h.login('alice');
      const attacker = await h.login('mallory');
      const name = h.manager.cookieName;
      const value = attacker.slice(attacker.indexOf('=') + 1);
      // A sibling subdomain or a plain-http page may set these names: they carry no `__Host-`
      // guarantee. fetch sends each of these characters as one latin1 byte (0xA0, 0x85, 0xC2).
      for (const padded of [
        `\u00a0${name}`,
        `${name}\u00a0`,
        ` \u00a0 ${name}`,
        `\u0085${name}`,
        `\u00c2\u00a0${name}`, // NBSP in UTF-8, read as latin1
      ]) {
        const label = JSON.stringify(padded);
        const alone = await h.req('GET', '/whoami', { cookie: `${padded}=${value}` });
        expect(alone.status, label).toBe(200);
        expect(alone.json, label).toEqual({ data: {}, userId: null, flagged: false });
        expect(alone.setCookies, label).toEqual([]);
        // Planted ahead of the victim's genuine cookie, it does not take the victim's place.
        const planted = await h.req('GET', '/whoami', {
          cookie: `${padded}=${value}; ${victim}`,
        });
        expect(planted.json, label).toMatchObject({ userId: 'alice' });
      }
      // RFC 6265 §5.2 whitespace (SP, HTAB) around the very name is still the same cookie.
      for (const spaced of [` ${name} `, `\t${name}`]) {
        const reply = await h.req('GET', '/whoami', { cookie: `${spaced}=${value}` });
        expect(reply.json, JSON.stringify(spaced)).toMatchObject({ userId: 'mallory' });
      }
    });

    it('several session cookies: the first one whose signature verifies wins; a verified but dead first one makes the request anonymous', async () => {
      const h = await boot();
      const alice = await h.login('alice');
      const bob = await h.login('bob');
      const name = h.manager.cookieName;
      const who = async (cookie: string): Promise<unknown> => {
        const reply = await h.req('GET', '/whoami', { cookie });
        expect(reply.status).toBe(200);
        return (reply.json as { userId: unknown }).userId;
      };
      // Order decides, not recency or privilege.
      expect(await who(`${alice}; ${bob}`)).toBe('alice');
      expect(await who(`${bob}; ${alice}`)).toBe('bob');
      // Forged (bad signature) and malformed values before a genuine one are skipped.
      const forged = `${name}=${h.idOf(alice)}.${'A'.repeat(43)}`;
      expect(await who(`${forged}; ${name}=garbage; ${bob}; ${alice}`)).toBe('bob');
      expect(h.events).toContainEqual(
        expect.objectContaining({ type: 'invalid-cookie', reason: 'signature' }),
      );
      // The first verified cookie decides even when its session is gone: the later one is not
      // tried (one store read per request, no fallback to another session).
      await h.req('POST', '/logout', { cookie: alice });
      h.probe.reset();
      const reply = await h.req('GET', '/whoami', { cookie: `${alice}; ${bob}` });
      expect(reply.json).toEqual({ data: {}, userId: null, flagged: false });
      expect(reply.setCookies).toEqual([]);
      expect(h.probe.calls.get('get')).toBe(1);
      expect(await who(`${bob}; ${alice}`)).toBe('bob');
    });

    it('transport: the id is ignored in the query, the body, Authorization and custom headers', async () => {
      const h = await boot();
      const pair = await h.newSession({ secret: 'mine' });
      const value = pair.slice(pair.indexOf('=') + 1);
      const name = h.manager.cookieName;
      for (const query of [`?${name}=${value}`, `?sid=${value}`, `?session=${value}`]) {
        const reply = await h.req('GET', `/whoami${query}`);
        expect(reply.json).toMatchObject({ data: {} });
      }
      for (const header of [
        { authorization: `Bearer ${value}` },
        { authorization: `Bearer ${h.idOf(pair)}` },
        { 'x-session-id': value },
        { 'x-sid': value },
      ]) {
        expect((await h.req('GET', '/whoami', { headers: header })).json).toMatchObject({
          data: {},
        });
      }
      const reply = await h.req('POST', '/set', {
        json: { [name]: value, sid: value, values: { b: 2 } },
      });
      const [set] = h.cookies(reply);
      expect(set!.pair).not.toBe(pair); // a new session, not the posted one
      expect((await h.req('GET', '/whoami', { cookie: set!.pair })).json).toMatchObject({
        data: { b: 2 },
      });
    });

    it('cookie attributes: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
      const h = await boot();
      const reply = await h.req('POST', '/set', { json: { values: { a: 1 } } });
      const [cookie] = h.cookies(reply);
      expect(h.manager.cookieName).toBe('__Host-sid');
      expect(cookie!.attribute('secure')).toBe('');
      expect(cookie!.attribute('httponly')).toBe('');
      expect(cookie!.attribute('samesite')).toBe('Lax');
      expect(cookie!.attribute('path')).toBe('/');
      expect(cookie!.attribute('domain')).toBeUndefined();
      expect(cookie!.attribute('max-age')).toBeUndefined();
      expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(reply.headers.get('cache-control')).toBe('private, no-store');
      expect(reply.headers.get('vary')).toMatch(/cookie/i);
    });

    it('cookie attributes: a persistent cookie gets Max-Age ≤ 400 days even for longer sessions', async () => {
      const day = 24 * 60 * MINUTE;
      const h = await boot({ absoluteTimeout: 500 * day, idleTimeout: 500 * day });
      const reply = await h.req('POST', '/login', {
        json: { userId: 'alice', persistent: true },
      });
      const [cookie] = h.cookies(reply);
      expect(Number(cookie!.attribute('max-age'))).toBe(400 * 24 * 60 * 60);
      expect(cookie!.attribute('secure')).toBe('');
    });

    it('ids: 256-bit base64url, unique, with no user data inside; the store holds only hashes', async () => {
      const h = await boot();
      const pairs = await Promise.all(
        Array.from({ length: 20 }, () => h.newSession({ email: 'alice@example.com' })),
      );
      const ids = pairs.map((p) => h.idOf(p));
      expect(new Set(ids).size).toBe(20);
      for (const id of ids) {
        expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(id, 'base64url').toString('latin1')).not.toContain('alice');
      }
      const dump = await h.backend.dump();
      for (const id of ids) {
        expect(dump).not.toContain(id);
        expect(await h.raw.get(hashSessionId(id))).toBeDefined();
      }
    });
  });
}
