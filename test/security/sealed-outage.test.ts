/**
 * Attack suite — revocation-store outages on sealed sessions over real HTTP (SECURITY.md §6,
 * §20): a sealed-cookie manager (`cookieStore({ revocation })`) and a hybrid one (`hybridStore`)
 * over a real store wrapped in the probe store, which makes it fail or hang. A signed-in request
 * then answers 503 — never a silent logout, never a revoked session accepted; a login, logout,
 * rotation or revocation that could not be recorded is a 503 and changes nothing the client holds;
 * a route that opts into degraded mode answers without its session and writes nothing.
 */

import { describe, expect, it } from 'vitest';
import type { SessionManagerOptions } from '../../src/core/manager.js';
import type { StoreRecord } from '../../src/core/store.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import type { ProbeCall, ProbeStore } from '../support/probe-store.js';
import {
  type AdapterTarget,
  expectGenericFailure,
  type Harness,
  matrix,
  probedBackend,
  type StoreTarget,
  start,
} from './targets.js';

/** The two sealed configurations: the store the probe wraps is the revocation store or the server side. */
const KINDS = {
  cookie: (store: ProbeStore) => cookieStore({ revocation: store, leeway: 0 }),
  hybrid: (store: ProbeStore) => hybridStore({ store, leeway: 0 }),
} as const;

type Kind = keyof typeof KINDS;

interface Target {
  h: Harness;
  /** The real store behind the sealed sessions, probed: faults are injected here. */
  probe: ProbeStore;
}

/** A `kind` manager over a fresh `storeTarget` store (probed), served by `adapter`. */
async function sealedTarget(
  adapter: AdapterTarget,
  storeTarget: StoreTarget,
  kind: Kind,
  manager: Partial<SessionManagerOptions> = {},
): Promise<Target> {
  const { clock, backend, probe } = await probedBackend(storeTarget);
  const store = KINDS[kind](probe);
  const options = { store, ...manager };
  const h = await start(adapter, storeTarget, { backend, clock, manager: options });
  return { h, probe };
}

/** Who the session of `cookie` is, over HTTP (a healthy store). */
async function whoami(h: Harness, cookie: string | undefined): Promise<unknown> {
  const reply = await h.req('GET', '/whoami', { cookie });
  expect(reply.status).toBe(200);
  return reply.json;
}

/** Every write method of a store: what a failing "write side" fails. */
const WRITES = ['set', 'delete', 'touch'] as const;

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  for (const kind of Object.keys(KINDS) as Kind[]) {
    describe(`sealed-session outages: ${adapter.name} × ${storeTarget.name} (${kind})`, () => {
      it('a failing or hanging read of a signed-in session is a 503, no-store, generic, no Set-Cookie; the cookie survives', async () => {
        // A hang must end within the test's time, and an ordinary call under load well within it
        // (file and MySQL calls took over 500 ms with the machine at load 30).
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind, {
          storeTimeout: 2_000,
        });
        const pair = await h.login('alice');
        probe.failing.add('get');
        expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: pair }), 503);
        const write = await h.req('POST', '/set', { cookie: pair, json: { values: { lost: 1 } } });
        expectGenericFailure(h, write, 503);
        probe.failing.clear();
        probe.hanging.add('get');
        expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: pair }), 503);
        probe.hanging.clear();
        expect(await whoami(h, pair)).toMatchObject({ userId: 'alice', data: {} });
        expect(h.events).toContainEqual({
          type: 'store-error',
          operation: 'get',
          code: 'ERR_SESSION_STORE',
        });
      });

      it('a revoked session is never accepted while the store fails: 503, then anonymous', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const victim = await h.login('alice');
        const other = await h.login('alice');
        expect(await h.manager.listSessions('alice')).toHaveLength(2);
        // From the other device: sign out everywhere.
        const out = await h.req('POST', '/logout-everywhere', { cookie: other });
        expect(out.json).toEqual({ count: 2 });
        probe.failing.add('get');
        expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: victim }), 503);
        probe.failing.clear();
        expect(await whoami(h, victim)).toMatchObject({ userId: null });
      });

      it('a logout the store cannot record is a 503 that logs nobody out; retried, it is final', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const pair = await h.login('alice');
        for (const method of WRITES) probe.failing.add(method);
        expectGenericFailure(h, await h.req('POST', '/logout', { cookie: pair }), 503);
        probe.failing.clear();
        // Not logged out, and the client was not told it was.
        expect(await whoami(h, pair)).toMatchObject({ userId: 'alice' });
        const done = await h.req('POST', '/logout', { cookie: pair });
        expect(done.status).toBe(200);
        expect(await whoami(h, pair)).toMatchObject({ userId: null });
      });

      it('a login or rotation the store cannot record is a 503: no cookie, the session before it kept', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const anonymous = await h.newSession({ cart: 1 });
        for (const method of WRITES) probe.failing.add(method);
        expectGenericFailure(h, await h.req('POST', '/login', { cookie: anonymous }), 503);
        probe.failing.clear();
        expect(await whoami(h, anonymous)).toMatchObject({ userId: null, data: { cart: 1 } });
        const signedIn = await h.login('alice', anonymous);
        for (const method of WRITES) probe.failing.add(method);
        expectGenericFailure(h, await h.req('POST', '/regenerate', { cookie: signedIn }), 503);
        expectGenericFailure(h, await h.req('POST', '/login', { cookie: signedIn }), 503);
        probe.failing.clear();
        expect(await whoami(h, signedIn)).toMatchObject({ userId: 'alice', data: { cart: 1 } });
        expect(await h.manager.listSessions('alice')).toHaveLength(1);
      });

      it('revokeSession and revokeAll during an outage are 503s that revoke nothing', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const pair = await h.login('alice');
        const [session] = await h.manager.listSessions('alice');
        for (const method of WRITES) probe.failing.add(method);
        const revoke = await h.req('POST', '/revoke', {
          cookie: pair,
          json: { handle: session!.handle },
        });
        // The route read its session before the manager's call failed: the page is private too.
        for (const reply of [revoke, await h.req('POST', '/logout-everywhere', { cookie: pair })]) {
          expect(reply.status).toBe(503);
          expect(reply.headers.get('cache-control')).toMatch(/(^|, )no-store$/);
          expect(reply.setCookies).toEqual([]);
        }
        probe.failing.clear();
        expect(await whoami(h, pair)).toMatchObject({ userId: 'alice' });
      });

      it('anonymous sealed sessions: the cookie store never reads it; the hybrid fails closed (503, or degraded)', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const pair = await h.newSession({ cart: 1 });
        probe.failing.add('get');
        probe.reset();
        expect((await h.req('GET', '/untouched', { cookie: pair })).status).toBe(200);
        const read = await h.req('GET', '/whoami', { cookie: pair });
        const degraded = await h.req('GET', '/whoami-degraded', { cookie: pair });
        if (kind === 'cookie') {
          expect(read.json).toMatchObject({ userId: null, data: { cart: 1 } });
          expect(degraded.json).toMatchObject({ degraded: false, data: { cart: 1 } });
          expect(probe.total()).toBe(0);
        } else {
          // Its denylist tells a live stateless token from the one of a session that moved.
          expectGenericFailure(h, read, 503);
          expect(degraded.json).toEqual({ data: {}, userId: null, degraded: true });
          expect(degraded.setCookies).toEqual([]);
        }
        probe.failing.clear();
        expect(await whoami(h, pair)).toMatchObject({ userId: null, data: { cart: 1 } });
      });

      it('degraded mode: a route that degrades on a failing read serves its page without the session, writes nothing, sets no cookie', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const pair = await h.login('alice');
        probe.failing.add('get');
        probe.reset();
        const reply = await h.req('GET', '/whoami-degraded', { cookie: pair });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ data: {}, userId: null, degraded: true });
        expect(reply.setCookies).toEqual([]);
        expect(reply.headers.get('cache-control')).toContain('no-store');
        for (const method of WRITES) expect(probe.calls.get(method) ?? 0).toBe(0);
        // A route that does not degrade still fails closed during the same outage.
        expectGenericFailure(h, await h.req('GET', '/whoami', { cookie: pair }), 503);
        probe.failing.clear();
        const healthy = await h.req('GET', '/whoami-degraded', { cookie: pair });
        expect(healthy.json).toMatchObject({ userId: 'alice', degraded: false });
      });

      it('degraded mode: a login whose commit fails can be degraded — no cookie, nothing signed in, the session before it kept', async () => {
        const { h, probe } = await sealedTarget(adapter, storeTarget, kind);
        const anonymous = await h.newSession({ cart: 1 });
        for (const method of WRITES) probe.failing.add(method);
        const reply = await h.req('POST', '/login-degraded', { cookie: anonymous });
        expect(reply.status).toBe(202);
        expect(reply.json).toEqual({ degraded: true });
        expect(reply.setCookies).toEqual([]);
        probe.failing.clear();
        expect(await whoami(h, anonymous)).toMatchObject({ userId: null, data: { cart: 1 } });
        expect(await h.manager.listSessions('alice')).toEqual([]);
      });
    });
  }
}

/** `true` for the store call that denylists a session (`revocation.ts` writes this record). */
function isDenylisting([method, args]: ProbeCall): boolean {
  return method === 'set' && (args[1] as StoreRecord).data === '{"v":1,"revoked":true}';
}

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`sealed-cookie rotations cut short: ${adapter.name} × ${storeTarget.name}`, () => {
    it('a rotation whose denylist write fails is a 503; the old session keeps working and stays revocable', async () => {
      const { h, probe } = await sealedTarget(adapter, storeTarget, 'cookie');
      const old = await h.login('alice');
      const [listed] = await h.manager.listSessions('alice');
      probe.failWhen = isDenylisting;
      expectGenericFailure(h, await h.req('POST', '/regenerate', { cookie: old }), 503);
      probe.failWhen = undefined;
      expect(await whoami(h, old)).toMatchObject({ userId: 'alice' });
      // Still one of the user's sessions: "your devices" shows it and can end it.
      const handles = (await h.manager.listSessions('alice')).map((s) => s.handle);
      expect(handles).toContain(listed!.handle);
      expect(await h.manager.revokeSession('alice', listed!.handle)).toBe(true);
      expect(await whoami(h, old)).toMatchObject({ userId: null });
    });

    it('once the old session is denylisted, a rotation or logout answers — never leaving the client neither session', async () => {
      const { h, probe } = await sealedTarget(adapter, storeTarget, 'cookie');
      const old = await h.login('alice');
      // Every call after the denylist write fails: the user record's update is cut short.
      let denied = false;
      probe.failWhen = (call) => {
        if (isDenylisting(call)) denied = true;
        return denied && !isDenylisting(call);
      };
      const rotated = await h.req('POST', '/regenerate', { cookie: old });
      probe.failWhen = undefined;
      expect(rotated.status).toBe(200);
      const [fresh] = h.cookies(rotated);
      expect(await whoami(h, fresh!.pair)).toMatchObject({ userId: 'alice' });
      expect(await whoami(h, old)).toMatchObject({ userId: null });
      denied = false;
      probe.failWhen = (call) => {
        if (isDenylisting(call)) denied = true;
        return denied && !isDenylisting(call);
      };
      const out = await h.req('POST', '/logout', { cookie: fresh!.pair });
      probe.failWhen = undefined;
      expect(out.status).toBe(200);
      expect(h.cookies(out)[0]?.attribute('max-age')).toBe('0');
      expect(await whoami(h, fresh!.pair)).toMatchObject({ userId: null });
    });
  });
}
