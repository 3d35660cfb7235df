/**
 * Attack suite — the write-on-demand hybrid (`sessionkit/stores/hybrid`) over real HTTP on every
 * adapter (memory store), and on every persistent store under node: replay of a stateless token
 * after its session moved server-side (by signing in, by outgrowing the cookie), after logout and
 * after revokeAll; bit flips in every part of a stateless token; a token of one side presented
 * as the other (a sealed token reshaped as a signed id, a signed id in the chunk cookies, a
 * cookie-store token of a signed-in session under the same secrets, and the reverse). Each is an
 * anonymous request: a 200 that sees no data and no user, no `Set-Cookie`, no store write, never
 * a 5xx. The lifecycle itself: test/core/hybrid.test.ts.
 */

import { describe, expect, it, onTestFinished } from 'vitest';
import type { SessionManagerOptions } from '../../src/core/manager.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import { Jar } from '../support/cookie-jar.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';
import {
  ADAPTERS,
  type AdapterTarget,
  type Clock,
  flip,
  type Harness,
  type Reply,
  STORES,
  type StoreTarget,
  sealedFlipPositions,
  start,
  storesToRun,
} from './targets.js';

const ANONYMOUS = { data: {}, userId: null, flagged: false };
const memory = STORES.find((s) => s.name === 'memory')!;
/** A signed id: the server-side cookie. */
const SIGNED = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
/** A sealed token: the stateless side. */
const SEALED = /^[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

interface Target {
  h: Harness;
  /** The server-side store, probed: an anonymous request never writes to it. */
  store: ProbeStore;
  /** The session cookie's name (`__Host-sid`). */
  name: string;
  /** The jar `reply` leaves (starting from `from`). */
  jar(reply: Reply, from?: Jar): Jar;
}

/** A hybrid manager over a probed `storeTarget` store, served by `adapter`. */
async function hybridTarget(
  adapter: AdapterTarget,
  storeTarget: StoreTarget = memory,
  manager: Partial<SessionManagerOptions> = {},
): Promise<Target> {
  let t = Date.now();
  const clock: Clock = {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
  const backend = await storeTarget.create(clock.now);
  onTestFinished(() => backend.close());
  const store = probeStore(backend.store);
  const h = await start(adapter, storeTarget, {
    backend,
    clock,
    manager: { store: hybridStore({ store, leeway: 0 }), ...manager },
  });
  return {
    h,
    store,
    name: h.manager.cookieName,
    jar: (reply, from) => (from ?? new Jar()).take(reply.setCookies),
  };
}

/** Check that `header` is an anonymous request: no data, no user, nothing issued, nothing written. */
async function expectAnonymous(target: Target, header: string | undefined, label = '') {
  const { h, store } = target;
  const writes = (store.calls.get('set') ?? 0) + (store.calls.get('delete') ?? 0);
  const reply = await h.req('GET', '/whoami', { cookie: header });
  expect(reply.status, label).toBe(200);
  expect(reply.json, label).toEqual(ANONYMOUS);
  expect(reply.setCookies, label).toEqual([]);
  expect((store.calls.get('set') ?? 0) + (store.calls.get('delete') ?? 0), label).toBe(writes);
}

/** Sign `userId` in with the jar's session; resolves the jar after the response. */
async function login(target: Target, jar: Jar, userId: string): Promise<Jar> {
  const reply = await target.h.req('POST', '/login', { cookie: jar.header, json: { userId } });
  expect(reply.status).toBe(200);
  return target.jar(reply, jar);
}

/** Replay after each kind of promotion, on one adapter and store. */
async function replayAfterPromotion(adapter: AdapterTarget, storeTarget: StoreTarget) {
  const target = await hybridTarget(adapter, storeTarget);
  const { h, name } = target;
  // Signing in: the stateless token of the anonymous session that moved is refused.
  const jar = target.jar(await h.req('POST', '/set', { json: { values: { cart: [1] } } }));
  const stateless = jar.header!;
  expect(jar.get(name)).toMatch(SEALED);
  await login(target, jar, 'victim');
  expect(jar.get(name)).toMatch(SIGNED);
  expect((await h.req('GET', '/whoami', { cookie: jar.header })).json).toMatchObject({
    data: { cart: [1] },
    userId: 'victim',
  });
  await expectAnonymous(target, stateless, 'stateless token after login');
  // A write with it starts a new stateless session: the moved data is not reachable through it.
  const write = await h.req('POST', '/set', { cookie: stateless, json: { values: { b: 2 } } });
  expect(write.status).toBe(200);
  const fresh = target.jar(write);
  expect((await h.req('GET', '/whoami', { cookie: fresh.header })).json).toEqual({
    ...ANONYMOUS,
    data: { b: 2 },
  });

  // Outgrowing the cookie: the chunked stateless token of the session that moved is refused.
  const big = target.jar(await h.req('POST', '/big', { json: { bytes: 5000 } }));
  expect(big.names).toEqual([`${name}.0`, `${name}.1`]);
  const chunked = big.header!;
  const grown = await h.req('POST', '/big', { cookie: chunked, json: { bytes: 12_000 } });
  expect(grown.status).toBe(200);
  target.jar(grown, big);
  expect(big.names).toEqual([name]);
  expect(big.get(name)).toMatch(SIGNED);
  expect(
    ((await h.req('GET', '/whoami', { cookie: big.header })).json as { data: { blob: string } })
      .data.blob,
  ).toHaveLength(12_000);
  await expectAnonymous(target, chunked, 'chunked stateless token after outgrowing');
}

for (const adapter of ADAPTERS) {
  describe(`hybrid sessions under attack: ${adapter.name}`, () => {
    it('replay of a stateless token after its session moved server-side (login, outgrowing) is anonymous', async () => {
      await replayAfterPromotion(adapter, memory);
    });

    it('replay after logout and after revokeAll is anonymous, signed ids and pre-login tokens alike', async () => {
      const target = await hybridTarget(adapter);
      const { h } = target;
      const anonymous = target.jar(await h.req('POST', '/set', { json: { values: { a: 1 } } }));
      const preLogin = anonymous.header!;
      const loggedIn = (await login(target, anonymous, 'alice')).header!;
      expect((await h.req('POST', '/logout', { cookie: loggedIn })).status).toBe(200);
      await expectAnonymous(target, loggedIn, 'signed id after logout');
      await expectAnonymous(target, preLogin, 'pre-login token after logout');

      const phoneBefore = target.jar(await h.req('POST', '/set', { json: { values: { p: 1 } } }));
      const phonePreLogin = phoneBefore.header!;
      const phone = (await login(target, phoneBefore, 'alice')).header!;
      const laptop = (await login(target, new Jar(), 'alice')).header!;
      const count = await h.req('POST', '/logout-everywhere', { cookie: laptop });
      expect(count.json).toEqual({ count: 2 });
      await expectAnonymous(target, phone, 'other device after revokeAll');
      await expectAnonymous(target, laptop, 'own device after revokeAll');
      await expectAnonymous(target, phonePreLogin, 'pre-login token after revokeAll');
    });

    it('bit flips in every part of a stateless token (key id, IV, ciphertext, tag) are anonymous', async () => {
      const target = await hybridTarget(adapter);
      const { h, name } = target;
      const jar = target.jar(await h.req('POST', '/set', { json: { values: { secret: 'mine' } } }));
      const token = jar.get(name)!;
      expect((await h.req('GET', '/whoami', { cookie: jar.header })).json).toMatchObject({
        data: { secret: 'mine' },
      });
      for (const index of sealedFlipPositions(token, 20)) {
        await expectAnonymous(target, `${name}=${flip(token, index)}`, `flip at ${index}`);
      }
    });

    it('a token of the other side is anonymous: reshaped, moved between cookie names, or sealed for a cookie store', async () => {
      const target = await hybridTarget(adapter);
      const { h, name } = target;
      const stateless = target.jar(await h.req('POST', '/set', { json: { values: { a: 1 } } }));
      const token = stateless.get(name)!;
      const signedIn = await login(target, new Jar(), 'victim');
      const signed = signedIn.get(name)!;
      const cases: Record<string, string> = {
        // A stateless token claiming to be server-side: its characters in a signed id's shape.
        'sealed token reshaped as <id>.<signature>': `${name}=${token
          .replaceAll('.', '')
          .slice(0, 43)}.${token.replaceAll('.', '').slice(43, 86)}`,
        // A server-side credential where a stateless one goes: signed ids count in `name` only.
        'signed id as the only chunk': `${name}.0=${signed}`,
        'signed id split over two chunks': `${name}.0=${signed.slice(0, 44)}; ${name}.1=${signed.slice(44)}`,
        'signed id with a sealed token glued on': `${name}=${signed}.${token}`,
        'sealed token with a signed id glued on': `${name}=${token}.${signed}`,
      };
      for (const [label, header] of Object.entries(cases)) {
        await expectAnonymous(target, header, label);
      }
      // A cookie store's token under the same secrets — here of a signed-in session, which the
      // hybrid's stateless side never holds — is sealed for another purpose: anonymous.
      const foreign = await start(adapter, memory, {
        clock: target.h.clock,
        manager: { store: cookieStore(), secrets: h.secrets.slice(0, 1) },
      });
      const sealedForCookieStore = target.jar(
        await foreign.req('POST', '/login', { json: { userId: 'victim' } }),
      );
      expect(
        (await foreign.req('GET', '/whoami', { cookie: sealedForCookieStore.header })).json,
      ).toMatchObject({ userId: 'victim' });
      await expectAnonymous(target, sealedForCookieStore.header, 'cookieStore token');
      // And the reverse: the hybrid's stateless token opens nothing in that cookie store.
      const reverse = await foreign.req('GET', '/whoami', { cookie: stateless.header });
      expect(reverse.status).toBe(200);
      expect(reverse.json).toEqual(ANONYMOUS);
      // Both genuine sessions are intact.
      expect((await h.req('GET', '/whoami', { cookie: stateless.header })).json).toMatchObject({
        data: { a: 1 },
      });
      expect((await h.req('GET', '/whoami', { cookie: signedIn.header })).json).toMatchObject({
        userId: 'victim',
      });
    });
  });
}

describe('hybrid sessions under attack: replay after promotion on every store (node)', () => {
  for (const storeTarget of storesToRun('hybrid.test.ts').filter((s) => s !== memory)) {
    it(`${storeTarget.name}: the stateless token of a session that moved is anonymous`, async () => {
      await replayAfterPromotion(ADAPTERS[0]!, storeTarget);
    });
  }
});
