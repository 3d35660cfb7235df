import { describe, expect, it } from 'vitest';
import { sealPayload, unsealPayload } from '../../src/core/codec.js';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request, SECRET } from './helpers.js';

const NEW = generateSecret();

function idOf(cookie: string | undefined): string {
  return cookie!.split('=')[1]!.slice(0, 43);
}

describe('encryption at rest', () => {
  it('stores only ciphertext and reads it back', async () => {
    const store = memoryStore();
    const m = manager({ store, encrypt: true });
    const { cookie } = await request(m, undefined, (s) => s.set('card', 'secret-value-4242'));
    const raw = await store.get(hashSessionId(idOf(cookie)));
    expect(raw!.data).toMatch(/^sk1\.0\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(raw!.data).not.toContain('secret-value');
    expect((await request(m, cookie, (s) => s.get('card'))).result).toBe('secret-value-4242');
  });

  it('a ciphertext copied into another session record fails closed (AAD binds the store key)', async () => {
    const store = memoryStore();
    const m = manager({ store, encrypt: true });
    const a = await request(m, undefined, (s) => s.set('owner', 'alice'));
    const b = await request(m, undefined, (s) => s.set('owner', 'bob'));
    const keyA = hashSessionId(idOf(a.cookie));
    const keyB = hashSessionId(idOf(b.cookie));
    const recA = await store.get(keyA);
    const recB = await store.get(keyB);
    await store.set(keyB, { ...recB!, data: recA!.data });
    const r = await request(m, b.cookie, (s) => s.get('owner'));
    expect(r.result).toBeUndefined();
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'decrypt-failure' }));
  });

  it('any flipped bit in IV, ciphertext or tag, or a truncated envelope, fails closed', () => {
    const ring = createKeyRing([SECRET]);
    const sealed = sealPayload('{"x":1}', ring, 'k'.repeat(43));
    expect(unsealPayload(sealed, ring, 'k'.repeat(43))?.text).toBe('{"x":1}');
    const [v, kid, iv, body] = sealed.split('.') as [string, string, string, string];
    const flip = (text: string, i: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[i] = bytes[i]! ^ 1;
      return bytes.toString('base64url');
    };
    const bodyLen = Buffer.from(body, 'base64url').length;
    for (const bad of [
      `${v}.${kid}.${flip(iv, 0)}.${body}`,
      `${v}.${kid}.${iv}.${flip(body, 0)}`,
      `${v}.${kid}.${iv}.${flip(body, bodyLen - 1)}`,
      `${v}.${kid}.${iv}.${body.slice(0, -4)}`,
      `${v}.${kid}.${iv.slice(0, 8)}.${body}`,
      `${v}.9.${iv}.${body}`,
      `sk2.${kid}.${iv}.${body}`,
      `${v}.${kid}.${iv}`,
      '{"v":1,"d":{},"f":{},"m":{}}',
      '',
    ]) {
      expect(unsealPayload(bad, ring, 'k'.repeat(43))).toBeUndefined();
    }
    expect(unsealPayload(sealed, ring, 'j'.repeat(43))).toBeUndefined();
    expect(unsealPayload(sealed, createKeyRing([NEW]), 'k'.repeat(43))).toBeUndefined();
  });

  it('uses a fresh IV every time', () => {
    const ring = createKeyRing([SECRET]);
    const ivs = new Set(
      Array.from({ length: 200 }, () => sealPayload('x', ring, 'k'.repeat(43)).split('.')[2]),
    );
    expect(ivs.size).toBe(200);
  });

  it('refuses plaintext records once encryption is on (no fallback decoder)', async () => {
    const store = memoryStore();
    const plain = manager({ store });
    const { cookie } = await request(plain, undefined, (s) => s.set('a', 1));
    const sealed = manager({ store, encrypt: true });
    expect((await request(sealed, cookie, (s) => s.get('a'))).result).toBeUndefined();
  });

  it('rotation: add a primary (old still decrypts, next write re-seals), reseal, remove the old key', async () => {
    const store = memoryStore();
    const v1 = manager({ store, encrypt: true, secrets: [{ id: 'k1', secret: SECRET }] });
    const a = await request(v1, undefined, (s) => s.set('n', 1));
    const b = await request(v1, undefined, (s) => s.set('n', 2));
    const ring = [
      { id: 'k2', secret: NEW },
      { id: 'k1', secret: SECRET },
    ];
    const v2 = manager({ store, encrypt: true, secrets: ring });
    // Step 1: both sessions still work; a read re-signs the cookie under the new primary and a
    // write re-seals the record under it.
    const read = await request(v2, a.cookie, (s) => s.get('n'));
    expect(read.result).toBe(1);
    expect(read.cookie).not.toBe(a.cookie);
    expect(idOf(read.cookie)).toBe(idOf(a.cookie));
    await request(v2, read.cookie, (s) => s.set('n', 10));
    expect((await store.get(hashSessionId(idOf(a.cookie))))!.data).toMatch(/^sk1\.k2\./);
    expect((await store.get(hashSessionId(idOf(b.cookie))))!.data).toMatch(/^sk1\.k1\./);
    // Step 2: reseal migrates the rest.
    expect(await v2.reseal()).toEqual({ scanned: 2, resealed: 1, skipped: 1, unreadable: 0 });
    expect((await store.get(hashSessionId(idOf(b.cookie))))!.data).toMatch(/^sk1\.k2\./);
    // Step 3: remove the old key. The session that came back meanwhile carries a re-signed cookie
    // and lives on; the one whose cookie is still signed under k1 is cleanly anonymous.
    const v3 = manager({ store, encrypt: true, secrets: [ring[0]!] });
    expect((await request(v3, read.cookie, (s) => s.get('n'))).result).toBe(10);
    const gone = await request(v3, b.cookie, (s) => s.get('n'));
    expect(gone.result).toBeUndefined();
    expect(gone.out.setCookie).toEqual([]);
  });

  it('reseal({ plaintext: true }) encrypts records written before encryption was on', async () => {
    const store = memoryStore();
    const plain = manager({ store });
    const { cookie } = await request(plain, undefined, (s) => s.set('a', 1));
    const sealed = manager({ store, encrypt: true });
    expect(await sealed.reseal()).toMatchObject({ resealed: 0, unreadable: 1 });
    expect(await sealed.reseal({ plaintext: true })).toMatchObject({ resealed: 1 });
    expect((await request(sealed, cookie, (s) => s.get('a'))).result).toBe(1);
  });

  it('reseal needs encrypt: true', async () => {
    await expect(manager().reseal()).rejects.toMatchObject({ code: 'ERR_SESSION_CONFIG' });
  });
});
