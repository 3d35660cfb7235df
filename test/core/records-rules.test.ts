/**
 * The rules of payload ⇄ stored record (`src/core/records.ts`), pinned with exact values: a new
 * session's metadata, the record a write stores (`lastSeenAt`, the idle expiry capped by the
 * absolute one), the expiry boundaries and their `expire` reasons, the `unknown-id`, `corrupt`
 * and `decrypt-failure` events, the grace forward (as stored, its boundary, a gone target, a
 * reader without grace) and `reseal`'s tally. A memory store on the real clock under a manager on
 * a test clock, so that the manager alone decides expiry.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { userStoreKey } from '../../src/core/records.js';
import type { SessionManagerOptions, SessionStore, StoreRecord } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { clock, manager, request, SECRET } from './helpers.js';

const IDLE = 60_000;
const ABSOLUTE = 600_000;
const GRACE = 10_000;
const NEW = 'Qm9vdHN0cmFwLXJvdGF0aW9uLWtleS0yMDI2LW5ldw';

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock(Date.now());
  const inner = memoryStore({ sweepInterval: 0 });
  const m = manager({
    store: inner,
    now: c.now,
    idleTimeout: IDLE,
    absoluteTimeout: ABSOLUTE,
    touchInterval: 0,
    ...options,
  });
  /** A session holding `n: 0`; resolves its cookie and its store key. */
  const seed = async () => {
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    const { result } = await request(m, cookie, (s) => s.handle());
    return { cookie: cookie!, key: result! };
  };
  const n = async (cookie: string) => (await request(m, cookie, (s) => s.get('n'))).result;
  /** The events emitted while `fn` runs. */
  const eventsOf = async (fn: () => Promise<unknown>) => {
    const from = m.events.length;
    await fn();
    return m.events.slice(from);
  };
  return { c, inner, m, seed, n, eventsOf };
}

describe('metadata and the stored record', () => {
  it("a new session's metadata: created and seen now, absolute expiry now + absoluteTimeout, anonymous, generation 0", async () => {
    const { c, m } = setup();
    const t = c.now();
    const { result } = await request(m, undefined, (s) => s.meta());
    expect(result).toEqual({
      createdAt: t,
      lastSeenAt: t,
      absoluteExpiresAt: t + ABSOLUTE,
      userId: null,
      ip: '127.0.0.1',
      userAgent: 'vitest',
      fingerprint: null,
      persistent: false,
      csrf: null,
      generation: 0,
    });
  });

  it('a write stores lastSeenAt = now and expiresAt = now + idleTimeout', async () => {
    const { c, m, inner, seed } = setup();
    const t0 = c.now();
    const { cookie, key } = await seed();
    c.advance(5_000);
    await request(m, cookie, (s) => s.set('n', 1));
    expect((await inner.get(key))!.expiresAt).toBe(t0 + 5_000 + IDLE);
    expect((await inner.get(key))!.userId).toBeNull();
    const { result } = await request(m, cookie, (s) => s.meta());
    expect(result).toMatchObject({ createdAt: t0, lastSeenAt: t0 + 5_000 });
  });

  it("near the absolute expiry a write's expiresAt is the absolute expiry, not now + idleTimeout", async () => {
    const { c, m, inner, seed } = setup({ absoluteTimeout: 90_000 });
    const t0 = c.now();
    const { cookie, key } = await seed();
    c.advance(45_000);
    await request(m, cookie, (s) => s.set('n', 1));
    expect((await inner.get(key))!.expiresAt).toBe(t0 + 90_000);
  });

  it("a signed-in session's record carries its user id", async () => {
    const { m, inner } = setup();
    const { cookie } = await request(m, undefined, (s) => s.login('alice'));
    const { result: key } = await request(m, cookie, (s) => s.handle());
    expect((await inner.get(key!))!.userId).toBe('alice');
  });
});

describe('reading a record', () => {
  it('idle: alive 1 ms before now + idleTimeout; at it, gone with one expire event (reason idle)', async () => {
    const { c, seed, n, eventsOf } = setup();
    const { cookie, key } = await seed();
    c.advance(IDLE - 1);
    expect(await n(cookie)).toBe(0); // touchInterval 0: this read slides the expiry
    c.advance(IDLE);
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events.filter((e) => e.type === 'expire')).toEqual([
      { type: 'expire', handle: key.slice(0, 12), reason: 'idle' },
    ]);
  });

  it('absolute: at exactly absoluteExpiresAt, gone with reason absolute (though touched just before)', async () => {
    const { c, seed, n, eventsOf } = setup();
    const { cookie, key } = await seed();
    for (let at = IDLE / 2; at < ABSOLUTE; at += IDLE / 2) {
      c.advance(IDLE / 2);
      expect(await n(cookie)).toBe(0);
    }
    c.advance(IDLE / 2 - 1);
    expect(await n(cookie)).toBe(0);
    c.advance(1);
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events.filter((e) => e.type === 'expire')).toEqual([
      { type: 'expire', handle: key.slice(0, 12), reason: 'absolute' },
    ]);
  });

  it('a signed id without a record: one unknown-id event naming the handle and the address', async () => {
    const { inner, seed, n, eventsOf } = setup();
    const { cookie, key } = await seed();
    await inner.delete(key);
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events).toEqual([{ type: 'unknown-id', handle: key.slice(0, 12), ip: '127.0.0.1' }]);
  });

  it('a record that vanished under a write is not counted as a guess (only cookies are)', async () => {
    const { m, inner, seed } = setup({ bruteForce: { threshold: 1, window: 60_000 } });
    const { cookie, key } = await seed();
    const scope = m.begin({ cookie, ip: '192.0.2.1' });
    await scope.session.get('n');
    await inner.delete(key);
    scope.session.set('n', 1);
    const error = await scope.end().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_CONFLICT', reason: 'destroyed' });
    expect(m.events).toContainEqual({
      type: 'unknown-id',
      handle: key.slice(0, 12),
      ip: '192.0.2.1',
    });
    expect(m.events.filter((e) => e.type === 'brute-force')).toEqual([]);
  });

  it('an undecodable record: no session, one corrupt event', async () => {
    const { inner, seed, n, eventsOf } = setup();
    const { cookie, key } = await seed();
    const record = (await inner.get(key))!;
    await inner.set(key, { ...record, data: '{"v":1,"data":[' });
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events).toEqual([{ type: 'corrupt', handle: key.slice(0, 12) }]);
  });

  it.each([
    ['without', 0],
    ['with', GRACE],
  ])(
    'encrypted, %s a grace period: a record that does not decrypt gives one decrypt-failure event, no corrupt',
    async (_label, grace) => {
      const { inner, seed, n, eventsOf } = setup({ encrypt: true, regenerateGrace: grace });
      const { cookie, key } = await seed();
      const record = (await inner.get(key))!;
      await inner.set(key, { ...record, data: `${record.data.slice(0, -4)}AAAA` });
      const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
      expect(events).toEqual([{ type: 'decrypt-failure', handle: key.slice(0, 12) }]);
    },
  );

  it('encrypted, with a grace period: a live record reads back', async () => {
    const { m, seed, n } = setup({ encrypt: true, regenerateGrace: GRACE });
    const { cookie } = await seed();
    await request(m, cookie, (s) => s.set('n', 7));
    expect(await n(cookie)).toBe(7);
    expect(m.events.filter((e) => e.type === 'corrupt' || e.type === 'decrypt-failure')).toEqual(
      [],
    );
  });
});

describe('the grace forward', () => {
  /** Regenerate `cookie`'s session; resolves the new cookie and store key. */
  async function regenerate(m: ReturnType<typeof setup>['m'], cookie: string) {
    const next = await request(m, cookie, (s) => s.regenerate());
    const { result } = await request(m, next.cookie, (s) => s.handle());
    return { cookie: next.cookie!, key: result! };
  }

  it('as stored: the new store key, the old version + 1, expiring now + regenerateGrace, no user', async () => {
    const { c, m, inner, seed } = setup({ regenerateGrace: GRACE });
    const { cookie, key } = await seed();
    await request(m, cookie, (s) => s.set('n', 1)); // version 2
    c.advance(100);
    const next = await regenerate(m, cookie);
    expect(await inner.get(key)).toEqual({
      data: `{"v":1,"moved":"${next.key}"}`,
      version: 3,
      expiresAt: c.now() + GRACE,
      userId: null,
    } satisfies StoreRecord);
  });

  it('encrypted: the forward is sealed under the old key and still leads to the new session', async () => {
    const { m, inner, seed, n } = setup({ regenerateGrace: GRACE, encrypt: true });
    const { cookie, key } = await seed();
    const next = await regenerate(m, cookie);
    const forward = (await inner.get(key))!;
    expect(forward.data.startsWith('sk1.')).toBe(true);
    expect(forward.data.includes(next.key)).toBe(false);
    expect(await n(cookie)).toBe(0);
    expect(m.events.filter((e) => e.type === 'decrypt-failure' || e.type === 'corrupt')).toEqual(
      [],
    );
  });

  it('leads to the new session until 1 ms before its end; at exactly now + regenerateGrace, nothing', async () => {
    const { c, m, seed, n, eventsOf } = setup({ regenerateGrace: GRACE });
    const { cookie } = await seed();
    const next = await regenerate(m, cookie);
    c.advance(GRACE - 1);
    expect(await n(cookie)).toBe(0);
    c.advance(1);
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events).toEqual([]);
    expect(await n(next.cookie)).toBe(0);
  });

  it('a forward whose target is gone: no session and no event', async () => {
    const { m, inner, seed, n, eventsOf } = setup({ regenerateGrace: GRACE });
    const { cookie } = await seed();
    const next = await regenerate(m, cookie);
    await inner.delete(next.key);
    const events = await eventsOf(async () => expect(await n(cookie)).toBeUndefined());
    expect(events).toEqual([]);
  });

  it('a forward read by a manager without a grace period: no session, and not corrupt', async () => {
    const { m, inner, seed } = setup({ regenerateGrace: GRACE });
    const { cookie } = await seed();
    await regenerate(m, cookie);
    const strict = manager({ store: inner });
    expect((await request(strict, cookie, (s) => s.get('n'))).result).toBeUndefined();
    expect(strict.events).toEqual([]);
  });
});

describe('reseal', () => {
  it('refuses without encrypt, and on a store without ids, with a ConfigError naming what is missing', async () => {
    await expect(manager().reseal()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFIG',
      message: 'reseal() needs the manager option `encrypt: true`.',
    });
    const { ids: _ids, ...bare } = memoryStore();
    await expect(manager({ store: bare, encrypt: true }).reseal()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFIG',
      message: 'reseal() needs a store with `ids`; memory has none.',
    });
  });

  it('the tally: resealed under the primary at version + 1, skipped, unreadable, gone, rewritten meanwhile', async () => {
    const inner = memoryStore({ sweepInterval: 0 });
    let raced: string | undefined;
    const store: SessionStore = {
      ...inner,
      async get(key, options) {
        const record = await inner.get(key, options);
        // Another process rewrites this one between reseal's read and its write.
        if (record !== undefined && key === raced) {
          await inner.set(key, { ...record, version: record.version + 1 });
        }
        return record;
      },
      async *ids(options) {
        yield* inner.ids!(options);
        yield 'g'.repeat(43); // listed, but gone by the time it is read
      },
    };
    const v1 = manager({ store, encrypt: true, secrets: [{ id: 'k1', secret: SECRET }] });
    const ring = [
      { id: 'k2', secret: NEW },
      { id: 'k1', secret: SECRET },
    ];
    const v2 = manager({ store, encrypt: true, secrets: ring });
    const plain = manager({ store });
    const keyOf = async (m: typeof v1, cookie: string | undefined) =>
      (await request(m, cookie, (s) => s.handle())).result!;
    const oldKey = await keyOf(v1, (await request(v1, undefined, (s) => s.set('a', 1))).cookie);
    const racedKey = await keyOf(v1, (await request(v1, undefined, (s) => s.set('b', 1))).cookie);
    const primaryKey = await keyOf(v2, (await request(v2, undefined, (s) => s.set('c', 1))).cookie);
    const plainCookie = (await request(plain, undefined, (s) => s.set('d', 1))).cookie;
    const plainKey = await keyOf(plain, plainCookie);
    const garbageKey = 'z'.repeat(43);
    await inner.set(garbageKey, {
      data: 'not a payload',
      version: 1,
      expiresAt: Date.now() + IDLE,
      userId: null,
    });
    const before = (await inner.get(oldKey))!;
    const primaryBefore = (await inner.get(primaryKey))!;
    raced = racedKey;
    const progress: number[] = [];
    expect(await v2.reseal({ onProgress: (scanned) => progress.push(scanned) })).toEqual({
      scanned: 6,
      resealed: 1,
      skipped: 3,
      unreadable: 2,
    });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    const after = (await inner.get(oldKey))!;
    expect(after.version).toBe(before.version + 1);
    expect(after.expiresAt).toBe(before.expiresAt);
    expect(after.data.startsWith('sk1.k2.')).toBe(true);
    expect(await inner.get(primaryKey)).toEqual(primaryBefore);
    expect((await inner.get(garbageKey))!.data).toBe('not a payload');
    raced = undefined;
    // With plaintext: the decodable plaintext record is sealed too; the garbage stays unreadable.
    expect(await v2.reseal({ plaintext: true })).toEqual({
      scanned: 6,
      resealed: 2,
      skipped: 3,
      unreadable: 1,
    });
    expect((await inner.get(plainKey))!.data.startsWith('sk1.k2.')).toBe(true);
    expect((await request(v2, plainCookie, (s) => s.get('d'))).result).toBe(1);
  });
});

describe('the store key of a user lock', () => {
  it('is base64url(SHA-256("sessionkit:user\\0" + userId)): one per user, 43 characters, never the raw id', () => {
    const expected = createHash('sha256').update('sessionkit:user\0alice').digest('base64url');
    expect(userStoreKey('alice')).toBe(expected);
    expect(userStoreKey('alice')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(userStoreKey('bob')).not.toBe(userStoreKey('alice'));
  });
});
