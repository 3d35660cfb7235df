/**
 * `sessionkit/stores/jwt`: the factory's validation, interop (a session token verified by `jose`
 * directly, as another service would), keys chosen by `kid` with rotation, the cookie transport
 * with chunks, and the conformance suite over the revocation delegation it shares with
 * `cookieStore()`. Attacks: test/security/jwt.test.ts.
 */

import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createKeyRing, generateSecret, isSessionError } from '../../src/index.js';
import { jwtStore } from '../../src/stores/jwt.js';
import { memoryStore } from '../../src/stores/memory.js';
import { Jar } from '../support/cookie-jar.js';
import { testManager } from '../support/manager.js';
import { describeStore } from './conformance.js';

describeStore({
  name: 'jwt (revocation records over memory)',
  create: () => jwtStore({ revocation: memoryStore() }),
  // It delegates get/set/touch/delete only; a memory backend cannot fail.
  lacks: ['lock', 'listByUser', 'deleteByUser', 'prune', 'ids', 'failure'],
});

describe('jwtStore()', () => {
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('validates its options eagerly, naming the option', () => {
    for (const [options, message] of [
      [{ algorithm: 'none' }, /`algorithm`/],
      [{ algorithm: 'RS256' }, /`algorithm`/],
      [
        { keys: [{ kid: 'a', publicKey: ed.publicKey, privateKey: ed.privateKey }] },
        /HS256 signs with/,
      ],
      [{ algorithm: 'EdDSA' }, /`keys` needs at least one key/],
      [
        { algorithm: 'EdDSA', keys: [{ kid: 'a', publicKey: ed.publicKey }] },
        /first with a `privateKey`/,
      ],
      [
        {
          algorithm: 'ES256',
          keys: [{ kid: 'a', publicKey: ed.publicKey, privateKey: ed.privateKey }],
        },
        /P-256/,
      ],
      [
        {
          algorithm: 'EdDSA',
          keys: [{ kid: 'a', publicKey: ed.privateKey, privateKey: ed.privateKey }],
        },
        /public Ed25519/,
      ],
      [
        {
          algorithm: 'EdDSA',
          keys: [{ kid: 'a b', publicKey: ed.publicKey, privateKey: ed.privateKey }],
        },
        /kid/,
      ],
      [{ issuer: '' }, /`issuer`/],
      [{ audience: 'x'.repeat(300) }, /`audience`/],
      [{ leeway: -1 }, /`leeway`/],
    ] as const) {
      let error: unknown;
      try {
        jwtStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(options)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(jwtStore().name).toBe('jwt');
  });

  it('HS256 tokens verify with jose and the shared key, as another service would', async () => {
    const secret = generateSecret();
    const m = testManager({
      store: jwtStore({ issuer: 'https://app.example', audience: 'api' }),
      secrets: [secret],
      transport: 'bearer',
    });
    const scope = m.begin({});
    scope.session.login('alice');
    scope.session.set('plan', 'pro');
    const token = (await scope.end()).token![1];
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', kid: '0', typ: 'session+jwt' });
    const { payload } = await jwtVerify(token, createKeyRing(secret).primary('jwt'), {
      algorithms: ['HS256'],
      issuer: 'https://app.example',
      audience: 'api',
      typ: 'session+jwt',
    });
    expect(payload.sub).toBe('alice');
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.exp! - payload.iat!).toBe(12 * 60 * 60);
    expect((payload.sk as { d: unknown }).d).toEqual({ plan: 'pro' });
  });

  it('EdDSA and ES256: the first key signs, the others verify; a removed key no longer does', async () => {
    for (const [algorithm, pair, next] of [
      ['EdDSA', ed, generateKeyPairSync('ed25519')],
      ['ES256', ec, generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ] as const) {
      const old = { kid: 'k1', publicKey: pair.publicKey, privateKey: pair.privateKey };
      const primary = { kid: 'k2', publicKey: next.publicKey, privateKey: next.privateKey };
      const make = (keys: (typeof old)[]) =>
        testManager({ store: jwtStore({ algorithm, keys }), transport: 'bearer' });
      const before = make([old]);
      const scope = before.begin({});
      scope.session.set('a', 1);
      const token = (await scope.end()).token![1];
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: algorithm, kid: 'k1' });
      await expect(jwtVerify(token, pair.publicKey)).resolves.toBeDefined();
      const rotated = make([primary, { kid: 'k1', publicKey: pair.publicKey } as typeof old]);
      const read = rotated.begin({ header: () => `Bearer ${token}` });
      read.session.set('b', 2);
      const reissued = (await read.end()).token![1];
      expect(decodeProtectedHeader(reissued)).toMatchObject({ kid: 'k2' });
      expect((decodeJwt(reissued).sk as { d: unknown }).d).toEqual({ a: 1, b: 2 });
      const removed = make([primary]);
      const anonymous = removed.begin({ header: () => `Bearer ${token}` });
      expect(await anonymous.session.all()).toEqual({});
    }
  });

  it('in the cookie transport a large JWT is chunked like a sealed cookie', async () => {
    const m = testManager({ store: jwtStore() });
    const jar = new Jar();
    const scope = m.begin({});
    scope.session.set('blob', 'x'.repeat(5000));
    jar.take((await scope.end()).setCookie);
    expect(jar.names).toEqual(['sid.0', 'sid.1']);
    const read = m.begin({ cookie: jar.header });
    expect(await read.session.get('blob')).toBe('x'.repeat(5000));
  });

  it('expiry is checked with the leeway, in whole seconds', async () => {
    let now = 1_800_000_000_000;
    const m = testManager({
      store: jwtStore({ leeway: 5_000 }),
      transport: 'bearer',
      absoluteTimeout: 60_000,
      idleTimeout: 60_000,
      now: () => now,
    });
    const scope = m.begin({});
    scope.session.set('a', 1);
    const token = (await scope.end()).token![1];
    now += 64_000;
    expect(await m.begin({ header: () => `Bearer ${token}` }).session.all()).toEqual({ a: 1 });
    now += 2_000;
    expect(await m.begin({ header: () => `Bearer ${token}` }).session.all()).toEqual({});
  });
});
