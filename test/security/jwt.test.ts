/**
 * Attack suite — JWT sessions (`sessionkit/stores/jwt`) over real HTTP on every adapter
 * (SECURITY.md §14, "Anonymous"): `alg: none`, HS/RS and HS/EC key confusion, an embedded `jwk`,
 * an unknown `crit`, an unknown `kid`, a missing or wrong `typ`, `iss`, `aud`, expired and
 * not-yet-valid tokens, a tampered payload, garbage and oversized tokens. Each is a 200 anonymous
 * request with an event, never a 5xx.
 */

import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/core/keys.js';
import { jwtStore } from '../../src/stores/jwt.js';
import { ADAPTERS, type Harness, STORES, start } from './targets.js';

const memory = STORES.find((s) => s.name === 'memory')!;
const ANONYMOUS = { data: {}, userId: null, flagged: false };
const ISSUER = 'https://app.example';
const AUDIENCE = 'api';

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWS with any header and payload, with the given signature (none by default). */
function compact(header: object, payload: object, signature = ''): string {
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** An HS256 JWS with any header (jose itself refuses to sign some, such as an unknown `crit`). */
function hmac(header: object, payload: object, key: Uint8Array): string {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

function decode(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.') as [string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
  };
}

/** Sign `payload` as a session JWT would be, with overrides, using `key`. */
function forge(
  payload: Record<string, unknown>,
  key: KeyObject | Uint8Array,
  header: Record<string, unknown>,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as never).sign(key);
}

async function whoami(h: Harness, token: string) {
  return h.req('GET', '/whoami', { headers: { authorization: `Bearer ${token}` } });
}

for (const adapter of ADAPTERS) {
  describe(`JWT sessions under attack: ${adapter.name}`, () => {
    it('HS256: none, confusion, foreign keys, crit, kid, typ, iss, aud, times, tampering and garbage are anonymous', async () => {
      const store = jwtStore({ issuer: ISSUER, audience: AUDIENCE });
      const h = await start(adapter, memory, { manager: { store, transport: 'bearer' } });
      const created = await h.req('POST', '/login', { json: { userId: 'victim' } });
      const token = created.headers.get('session-token')!;
      expect((await whoami(h, token)).json).toMatchObject({ userId: 'victim' });
      const { header, payload } = decode(token);
      expect(header).toEqual({ alg: 'HS256', kid: '0', typ: 'session+jwt' });
      const key = createKeyRing(h.secrets[0]!).primary('jwt');
      const now = Math.floor(h.clock.now() / 1000);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const attacker = generateKeyPairSync('ed25519');
      const forged: Record<string, () => string | Promise<string>> = {
        'alg none': () => compact({ ...header, alg: 'none' }, payload),
        'alg none, signature kept': () =>
          compact({ ...header, alg: 'none' }, payload, token.split('.')[2]),
        'RS256 with the attacker’s key': () =>
          forge(payload, rsa.privateKey, {
            ...header,
            alg: 'RS256',
          }),
        'HS256 under another secret': () => forge(payload, new Uint8Array(32).fill(7), header),
        'embedded jwk of the attacker': () =>
          forge(payload, attacker.privateKey, {
            ...header,
            alg: 'EdDSA',
            jwk: attacker.publicKey.export({ format: 'jwk' }),
          }),
        'an unknown crit extension': () =>
          hmac({ ...header, crit: ['x-ext'], 'x-ext': 1 }, payload, key),
        'an unknown kid': () => forge(payload, key, { ...header, kid: 'other' }),
        'no kid': () => forge(payload, key, { alg: 'HS256', typ: 'session+jwt' }),
        'typ JWT': () => forge(payload, key, { ...header, typ: 'JWT' }),
        'no typ': () => forge(payload, key, { alg: 'HS256', kid: '0' }),
        'another issuer': () => forge({ ...payload, iss: 'https://evil.example' }, key, header),
        'another audience': () => forge({ ...payload, aud: 'other' }, key, header),
        expired: () => forge({ ...payload, exp: now - 60 }, key, header),
        'not yet valid': () => forge({ ...payload, nbf: now + 600, iat: now + 600 }, key, header),
        'no exp': () => forge({ ...payload, exp: undefined }, key, header),
        'no jti': () => forge({ ...payload, jti: undefined }, key, header),
        'sub changed to admin, re-signed': () => forge({ ...payload, sub: 'admin' }, key, header),
        'jti not the session id': () => forge({ ...payload, jti: 'B'.repeat(43) }, key, header),
        'sub changed, old signature': () =>
          `${token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, sub: 'admin' })).toString('base64url')}.${token.split('.')[2]}`,
        garbage: () => 'a.b.c',
        'two parts': () => token.split('.').slice(0, 2).join('.'),
        oversized: () => `${token}${'A'.repeat(9000)}`,
      };
      for (const [label, make] of Object.entries(forged)) {
        const reply = await whoami(h, await make());
        expect(reply.status, label).toBe(200);
        expect(reply.json, label).toEqual(ANONYMOUS);
        expect(reply.headers.get('session-token'), label).toBeNull();
      }
      const reasons = new Set(
        h.events.filter((e) => e.type === 'invalid-cookie').map((e) => e.reason),
      );
      expect([...reasons].sort()).toEqual(['claims', 'malformed', 'signature']);
      // The genuine token still works.
      expect((await whoami(h, token)).json).toMatchObject({ userId: 'victim' });
    });

    it('ES256: HS256 signed with the public key (key confusion) and EdDSA tokens are anonymous', async () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const store = jwtStore({
        algorithm: 'ES256',
        keys: [{ kid: 'ec1', publicKey: ec.publicKey, privateKey: ec.privateKey }],
      });
      const h = await start(adapter, memory, { manager: { store, transport: 'bearer' } });
      const token = (await h.req('POST', '/login', { json: { userId: 'victim' } })).headers.get(
        'session-token',
      )!;
      expect((await whoami(h, token)).json).toMatchObject({ userId: 'victim' });
      const { header, payload } = decode(token);
      const publicPem = ec.publicKey.export({ format: 'pem', type: 'spki' });
      const ed = generateKeyPairSync('ed25519');
      for (const make of [
        () => hmac({ ...header, alg: 'HS256' }, payload, Buffer.from(publicPem)),
        () =>
          hmac(
            { ...header, alg: 'HS256' },
            payload,
            new Uint8Array(ec.publicKey.export({ format: 'der', type: 'spki' })),
          ),
        () => forge(payload, ed.privateKey, { ...header, alg: 'EdDSA' }),
        () => forge(payload, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, header),
      ]) {
        const reply = await whoami(h, await make());
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual(ANONYMOUS);
      }
    });
  });
}
