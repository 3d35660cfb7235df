/**
 * Attack suite — what lies in the store: encryption at rest under attack (bit flips, truncation,
 * foreign keys, cross-session swaps, planted plaintext), key rotation end to end, and prototype
 * pollution through request bodies, dot paths and planted payloads (SECURITY.md §11, §12, §15,
 * §16). Records are manipulated directly in the backend; everything else goes over HTTP.
 */

import { describe, expect, it } from 'vitest';
import { sealPayload } from '../../src/core/codec.js';
import { createKeyRing, generateSecret } from '../../src/core/keys.js';
import type { StoreRecord } from '../../src/core/store.js';
import { type Harness, matrix, start } from './targets.js';

const ANONYMOUS = { data: {}, userId: null, flagged: false };

/** Flip one bit of the base64url part `part` (2 = IV, 3 = ciphertext‖tag) at byte `at`. */
function flipBit(envelope: string, part: number, at: number): string {
  const parts = envelope.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  const index = at < 0 ? bytes.length + at : at;
  bytes[index] = bytes[index]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

async function record(h: Harness, pair: string): Promise<StoreRecord> {
  const found = await h.raw.get(h.keyOf(pair));
  expect(found).toBeDefined();
  return found!;
}

/** Insert `members` at the start of the top-level JSON object `"<field>":{…}` of `text`. */
function inject(text: string, field: string, members: string): string {
  const at = text.indexOf(`"${field}":{`) + field.length + 4;
  return `${text.slice(0, at)}${members}${text[at] === '}' ? '' : ','}${text.slice(at)}`;
}

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

function expectNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
}

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`payloads: ${adapter.name} × ${storeTarget.name}`, () => {
    it('encrypted at rest: the backend holds no plaintext data, user id or CSRF secret', async () => {
      const h = await start(adapter, storeTarget, { manager: { encrypt: true } });
      const pair = await h.login('alice-at-example');
      await h.req('POST', '/set', { cookie: pair, json: { values: { card: 'TOPSECRET-4111' } } });
      await h.req('GET', '/csrf-token', { cookie: pair });
      const { data } = await record(h, pair);
      expect(data).toMatch(/^sk1\.0\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      const dump = await h.backend.dump();
      expect(dump).not.toContain('TOPSECRET');
      expect(dump).not.toContain('"csrf"');
      expect(dump).not.toContain('"d":{');
    });

    it('bit flips in IV, tag or ciphertext, a changed key id or version, truncation: anonymous, never overwritten', async () => {
      const h = await start(adapter, storeTarget, { manager: { encrypt: true } });
      const pair = await h.newSession({ secret: 'mine' });
      const original = await record(h, pair);
      const sealed = original.data;
      const [v, kid, iv, body] = sealed.split('.') as [string, string, string, string];
      const attacks: [string, string][] = [
        ['IV first bit', flipBit(sealed, 2, 0)],
        ['IV last bit', flipBit(sealed, 2, -1)],
        ['ciphertext first bit', flipBit(sealed, 3, 0)],
        ['ciphertext middle bit', flipBit(sealed, 3, 20)],
        ['tag last bit', flipBit(sealed, 3, -1)],
        ['tag first bit', flipBit(sealed, 3, -16)],
        ['key id', `${v}.1.${iv}.${body}`],
        ['version', `sk2.${kid}.${iv}.${body}`],
        ['short IV', `${v}.${kid}.${iv.slice(0, 8)}.${body}`],
        ['tag cut to 12 bytes', `${v}.${kid}.${iv}.${body.slice(0, -6)}`],
        ['tag only', `${v}.${kid}.${iv}.${body.slice(-22)}`],
        ['missing part', `${v}.${kid}.${iv}`],
        ['extra part', `${sealed}.AAAA`],
        ['empty', ''],
        ['non-base64url', `${v}.${kid}.${iv}.${body.slice(0, -2)}!!`],
      ];
      for (const [label, data] of attacks) {
        await h.raw.set(h.keyOf(pair), { ...original, data });
        const read = await h.req('GET', '/whoami', { cookie: pair });
        expect(read.status, label).toBe(200);
        expect(read.json, label).toEqual(ANONYMOUS);
        // A write through the cookie starts a new session; the bad record is left alone.
        const write = await h.req('POST', '/set', { cookie: pair, json: { values: { y: 1 } } });
        expect(write.status, label).toBe(200);
        expect(h.idOf(h.cookies(write)[0]!.pair), label).not.toBe(h.idOf(pair));
        expect((await h.raw.get(h.keyOf(pair)))?.data, label).toBe(data);
      }
      expect(h.events.filter((e) => e.type === 'decrypt-failure').length).toBeGreaterThanOrEqual(
        attacks.length,
      );
      // The untouched ciphertext still opens: the key was never the problem.
      await h.raw.set(h.keyOf(pair), original);
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { secret: 'mine' },
      });
    });

    it("cross-session swap: another session's ciphertext in my record fails closed", async () => {
      const h = await start(adapter, storeTarget, { manager: { encrypt: true } });
      const victim = await h.login('victim');
      await h.req('POST', '/set', { cookie: victim, json: { values: { balance: 1000 } } });
      const attacker = await h.newSession({ mine: true });
      const theirs = await record(h, victim);
      const mine = await record(h, attacker);
      await h.raw.set(h.keyOf(attacker), { ...mine, data: theirs.data, userId: theirs.userId });
      expect((await h.req('GET', '/whoami', { cookie: attacker })).json).toEqual(ANONYMOUS);
      expect((await h.req('GET', '/whoami', { cookie: victim })).json).toMatchObject({
        data: { balance: 1000 },
        userId: 'victim',
      });
    });

    it('no fallback decoder: plaintext, or a payload sealed under a foreign key with the same id, is refused', async () => {
      const h = await start(adapter, storeTarget, { manager: { encrypt: true } });
      const pair = await h.newSession({ secret: 'mine' });
      const original = await record(h, pair);
      const plain = JSON.stringify({
        v: 1,
        d: { admin: true },
        f: {},
        m: {
          createdAt: h.clock.now(),
          lastSeenAt: h.clock.now(),
          absoluteExpiresAt: h.clock.now() + 3_600_000,
          userId: 'root',
          ip: null,
          userAgent: null,
          persistent: false,
          csrf: null,
        },
      });
      const foreign = sealPayload(plain, createKeyRing(generateSecret()), h.keyOf(pair));
      for (const data of [plain, foreign]) {
        await h.raw.set(h.keyOf(pair), { ...original, data });
        expect((await h.req('GET', '/whoami', { cookie: pair })).json).toEqual(ANONYMOUS);
      }
    });

    it('rotation: old key verify-only keeps sessions, writes and reseal re-seal, removing it is cleanly anonymous', async () => {
      const OLD = generateSecret();
      const NEW = generateSecret();
      const v1 = await start(adapter, storeTarget, {
        manager: { encrypt: true, secrets: [{ id: 'old', secret: OLD }] },
      });
      const shared = { backend: v1.backend, clock: v1.clock };
      const active = await v1.newSession({ who: 'active' });
      const idle = await v1.newSession({ who: 'idle' });
      expect((await record(v1, active)).data.startsWith('sk1.old.')).toBe(true);
      // Step 1: new primary, old kept for verifying and decrypting.
      const v2 = await start(adapter, storeTarget, {
        ...shared,
        manager: {
          encrypt: true,
          secrets: [
            { id: 'new', secret: NEW },
            { id: 'old', secret: OLD },
          ],
        },
      });
      const read = await v2.req('GET', '/whoami', { cookie: active });
      expect(read.json).toMatchObject({ data: { who: 'active' } });
      const resigned = v2.cookies(read)[0]!.pair; // re-signed under the primary, same id
      expect(v2.idOf(resigned)).toBe(v2.idOf(active));
      await v2.req('POST', '/set', { cookie: resigned, json: { values: { step: 2 } } });
      expect((await record(v2, active)).data.startsWith('sk1.new.')).toBe(true);
      expect((await record(v2, idle)).data.startsWith('sk1.old.')).toBe(true);
      const result = await v2.manager.reseal();
      expect(result.resealed).toBeGreaterThanOrEqual(1);
      expect((await record(v2, idle)).data.startsWith('sk1.new.')).toBe(true);
      // Step 2: the old key is removed.
      const v3 = await start(adapter, storeTarget, {
        ...shared,
        manager: { encrypt: true, secrets: [{ id: 'new', secret: NEW }] },
      });
      expect((await v3.req('GET', '/whoami', { cookie: resigned })).json).toMatchObject({
        data: { who: 'active', step: 2 },
      });
      // A cookie still signed with the removed key is cleanly anonymous, never an error.
      const stale = await v3.req('GET', '/whoami', { cookie: idle });
      expect(stale.status).toBe(200);
      expect(stale.json).toEqual(ANONYMOUS);
      // A record still sealed under the removed key fails closed.
      const oldRing = createKeyRing([{ id: 'old', secret: OLD }]);
      const r = await record(v3, resigned);
      const text = JSON.stringify({
        v: 1,
        d: { forged: true },
        f: {},
        m: {
          createdAt: v3.clock.now(),
          lastSeenAt: v3.clock.now(),
          absoluteExpiresAt: v3.clock.now() + 3_600_000,
          userId: null,
          ip: null,
          userAgent: null,
          persistent: false,
          csrf: null,
        },
      });
      await v3.raw.set(v3.keyOf(resigned), {
        ...r,
        data: sealPayload(text, oldRing, v3.keyOf(resigned)),
      });
      expect((await v3.req('GET', '/whoami', { cookie: resigned })).json).toEqual(ANONYMOUS);
    });

    it('prototype pollution through JSON bodies and dot paths is refused (400), nothing polluted', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.newSession();
      const bodies: [string, string][] = [
        ['/merge', '{"patch":{"__proto__":{"polluted":"yes"}}}'],
        ['/merge', '{"patch":{"constructor":{"prototype":{"polluted":"yes"}}}}'],
        ['/merge', '{"patch":{"a":{"__proto__":{"polluted":"yes"}}}}'],
        ['/set', '{"values":{"__proto__":{"polluted":"yes"}}}'],
        ['/set', '{"values":{"prototype":{"polluted":"yes"}}}'],
        ['/set', '{"values":{"x":[{"__proto__":{"polluted":"yes"}}]}}'],
        ['/set-path', '{"path":"__proto__.polluted","value":"yes"}'],
        ['/set-path', '{"path":"constructor.prototype.polluted","value":"yes"}'],
        ['/set-path', '{"path":"a.__proto__.polluted","value":"yes"}'],
        ['/set-path', '{"path":"a.prototype","value":"yes"}'],
      ];
      for (const [path, raw] of bodies) {
        const reply = await h.req('POST', path, {
          cookie: pair,
          raw,
          contentType: 'application/json',
        });
        expect(reply.status, raw).toBe(400);
        // Fastify's JSON parser already refuses `__proto__`/`constructor` keys (plain 400); the
        // others parse them as own keys and the session refuses them (ERR_SESSION_DATA).
        if (reply.json !== undefined)
          expect(reply.json, raw).toEqual({ error: 'ERR_SESSION_DATA' });
        expectNoPollution();
      }
      const after = await h.req('GET', '/whoami', { cookie: pair });
      expect(after.json).toMatchObject({ data: { seeded: true } });
      expect(await h.backend.dump()).not.toContain('polluted');
      expectNoPollution();
    });

    it('planted payloads with __proto__ / constructor keys decode without polluting, keys dropped', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.newSession({ ok: 1 });
      const original = await record(h, pair);
      const planted = inject(
        inject(
          inject(
            original.data,
            'd',
            '"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"deep":{"__proto__":{"polluted":"yes"}}',
          ),
          'f',
          '"__proto__":[{"polluted":"yes"}]',
        ),
        'm',
        '"__proto__":{"userId":"root"}',
      );
      expect(planted).not.toBe(original.data);
      await h.raw.set(h.keyOf(pair), { ...original, data: planted });
      const reply = await h.req('GET', '/whoami', { cookie: pair });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ data: { ok: 1, deep: {} }, userId: null, flagged: false });
      expectNoPollution();
      // Writing it back keeps the poison out of the store.
      await h.req('POST', '/set', { cookie: pair, json: { values: { n: 2 } } });
      const rewritten = (await record(h, pair)).data;
      expect(rewritten).not.toContain('__proto__');
      expect(rewritten).not.toContain('polluted');
      expectNoPollution();
    });
  });
}
