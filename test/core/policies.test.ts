import { describe, expect, it } from 'vitest';
import type { SessionManager } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { clock, cookieOf, manager } from './helpers.js';

type M = SessionManager<Record<string, unknown>, Record<string, unknown>>;

/** One request from a given client. */
async function from<T>(
  m: M,
  client: { cookie?: string | undefined; ip?: string; userAgent?: string | undefined },
  fn: (s: ReturnType<M['begin']>['session']) => T | Promise<T>,
) {
  const scope = m.begin({ ip: '10.0.0.1', userAgent: 'UA-1', ...client });
  const result = await fn(scope.session);
  const out = await scope.end();
  const set = cookieOf(out);
  return {
    result,
    out,
    flagged: scope.session.flagged,
    cookie: set === undefined ? client.cookie : set.endsWith('=') ? undefined : set,
  };
}

describe('fingerprint binding', () => {
  it('flag: a different user agent sets session.flagged and emits an event; data stays', async () => {
    const m = manager({ fingerprint: { userAgent: true, policy: 'flag' } });
    const { cookie } = await from(m, {}, (s) => s.set('a', 1));
    const same = await from(m, { cookie }, (s) => s.get('a'));
    expect([same.result, same.flagged]).toEqual([1, false]);
    const other = await from(m, { cookie, userAgent: 'Evil/1.0' }, (s) => s.get('a'));
    expect([other.result, other.flagged]).toEqual([1, true]);
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'fingerprint-mismatch', policy: 'flag' }),
    );
  });

  it('destroy: a different ip kills the session for everyone', async () => {
    const m = manager({ fingerprint: { ip: true, userAgent: false, policy: 'destroy' } });
    const { cookie } = await from(m, {}, (s) => s.set('a', 1));
    expect(
      (await from(m, { cookie, userAgent: 'other UA is fine' }, (s) => s.get('a'))).result,
    ).toBe(1);
    const stolen = await from(m, { cookie, ip: '203.0.113.9' }, (s) => s.get('a'));
    expect(stolen.result).toBeUndefined();
    expect((await from(m, { cookie }, (s) => s.get('a'))).result).toBeUndefined();
  });

  it('login re-records the client', async () => {
    const m = manager({ fingerprint: { ip: true, policy: 'destroy' } });
    const { cookie } = await from(m, {}, (s) => s.set('a', 1));
    const moved = await from(m, { cookie, ip: '10.0.0.2' }, (s) => s.get('a'));
    expect(moved.result).toBeUndefined();
    const fresh = await from(m, { ip: '10.0.0.2' }, (s) => s.login('alice'));
    expect(
      (await from(m, { cookie: fresh.cookie, ip: '10.0.0.2' }, (s) => s.meta())).result,
    ).toMatchObject({
      userId: 'alice',
      ip: '10.0.0.2',
    });
  });

  it('refuses a fingerprint without anything to compare', () => {
    expect(() => manager({ fingerprint: { ip: false, userAgent: false } })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('refuses prefix lengths outside 1–32 / 1–128, non-integers and other ip values', () => {
    const bad: unknown[] = [
      { ipv4Prefix: 0 },
      { ipv4Prefix: 33 },
      { ipv4Prefix: 24.5 },
      { ipv4Prefix: '24' },
      { ipv6Prefix: 0 },
      { ipv6Prefix: 129 },
      { ipv6Prefix: Number.NaN },
      'prefix',
      null,
      [24, 64],
    ];
    for (const ip of bad) {
      expect(() => manager({ fingerprint: { ip: ip as boolean } }), JSON.stringify(ip)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
      );
    }
    expect(() => manager({ fingerprint: { userAgent: 'yes' as unknown as boolean } })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
    expect(() => manager({ deviceInfo: 'none' as 'full' })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
    for (const ip of [{}, { ipv4Prefix: 1, ipv6Prefix: 128 }, { ipv4Prefix: 32 }]) {
      expect(() => manager({ fingerprint: { ip } })).not.toThrow();
    }
  });

  it('a record without fingerprint hashes is compared through its recorded ip and user agent', async () => {
    // Written with binding off (as before this release): meta.fingerprint is null.
    const store = memoryStore();
    const plain = manager({ store });
    const withUa = await from(plain, {}, (s) => s.login('alice'));
    const withoutUa = await from(plain, { userAgent: undefined }, (s) => s.login('bob'));
    expect((await from(plain, { cookie: withUa.cookie }, (s) => s.meta())).result).toMatchObject({
      fingerprint: null,
    });
    const bound = manager({ store, fingerprint: { ip: {}, policy: 'flag' } });
    const seen = async (
      cookie: string | undefined,
      client: { ip?: string; userAgent?: string | undefined },
    ) => (await from(bound, { cookie, ...client }, (s) => s.get('x'))).flagged;
    expect(await seen(withUa.cookie, { ip: '10.0.0.77' })).toBe(false); // same /24, same UA
    expect(await seen(withUa.cookie, { ip: '10.0.1.1' })).toBe(true);
    expect(await seen(withUa.cookie, { userAgent: 'UA-2' })).toBe(true);
    expect(await seen(withoutUa.cookie, { userAgent: undefined })).toBe(false);
    expect(await seen(withoutUa.cookie, {})).toBe(true); // recorded without a UA: bound to that
  });
});

describe('per-user session limit', () => {
  it('evict-oldest: the least recently used other sessions go', async () => {
    const c = clock(Date.now());
    const m = manager({ maxSessionsPerUser: 2, now: c.now });
    const devices = [];
    for (let i = 0; i < 3; i++) {
      c.advance(1000);
      devices.push(await from(m, { userAgent: `device-${i}` }, (s) => s.login('alice')));
    }
    const list = await m.listSessions('alice');
    expect(list.map((x) => x.userAgent).sort()).toEqual(['device-1', 'device-2']);
    expect(
      (await from(m, { cookie: devices[0]!.cookie }, (s) => s.meta())).result.userId,
    ).toBeNull();
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'evict', userId: 'alice' }));
  });

  it('reject: the login over the limit fails with ERR_SESSION_LIMIT and writes nothing', async () => {
    const m = manager({ maxSessionsPerUser: 1, sessionLimit: 'reject' });
    await from(m, {}, (s) => s.login('bob'));
    const scope = m.begin({});
    scope.session.login('bob');
    await expect(scope.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_LIMIT',
      status: 403,
      limit: 1,
    });
    expect(await m.listSessions('bob')).toHaveLength(1);
  });

  it('needs a store with listByUser', () => {
    const store = memoryStore();
    const { listByUser: _omit, ...bare } = store;
    expect(() => manager({ store: bare, maxSessionsPerUser: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('reject needs a store with lock and unlock (its count and write are one step under a user lock)', () => {
    const { lock: _lock, unlock: _unlock, ...lockless } = memoryStore();
    expect(() =>
      manager({ store: lockless, maxSessionsPerUser: 2, sessionLimit: 'reject' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_SESSION_CONFIG',
        message: expect.stringContaining('`lock`'),
      }),
    );
    expect(() => manager({ store: lockless, maxSessionsPerUser: 2 })).not.toThrow();
  });
});

describe('regenerate grace', () => {
  it('the old id reads the new session for the grace period, cannot write, then dies', async () => {
    const c = clock(Date.now());
    const m = manager({ regenerateGrace: 10_000, now: c.now });
    const first = await from(m, {}, (s) => s.set('a', 1));
    const second = await from(m, { cookie: first.cookie }, (s) => {
      s.regenerate();
      s.set('b', 2);
    });
    expect(second.cookie).not.toBe(first.cookie);
    const retry = await from(m, { cookie: first.cookie }, (s) => s.all());
    expect(JSON.parse(JSON.stringify(retry.result))).toEqual({ a: 1, b: 2 });
    expect(retry.out.setCookie).toEqual([]);
    const write = m.begin({ cookie: first.cookie });
    write.session.set('c', 3);
    await expect(write.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'destroyed',
    });
    c.advance(10_001);
    expect((await from(m, { cookie: first.cookie }, (s) => s.all())).result).toEqual({});
    expect((await from(m, { cookie: second.cookie }, (s) => s.get('b'))).result).toBe(2);
  });

  it('the old id cannot write after reading either, however many versions the new one reaches', async () => {
    const m = manager({ regenerateGrace: 10_000 });
    const first = await from(m, {}, (s) => s.set('a', 1));
    const second = await from(m, { cookie: first.cookie }, (s) => {
      s.regenerate();
      s.set('b', 2);
    });
    // The forward was written at the old record's version + 1; let the new record pass it.
    for (let i = 0; i < 3; i++) {
      await from(m, { cookie: second.cookie }, (s) => s.update('n', (n = 0) => Number(n) + 1));
    }
    const write = m.begin({ cookie: first.cookie });
    expect(await write.session.get('a')).toBe(1); // loaded through the forward
    write.session.set('c', 3);
    await expect(write.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'destroyed',
    });
    // Still a forward: the old id reads the new session, which has no `c`.
    const after = await from(m, { cookie: first.cookie }, (s) => s.all());
    expect(JSON.parse(JSON.stringify(after.result))).toEqual({ a: 1, b: 2, n: 3 });
    expect((await from(m, { cookie: second.cookie }, (s) => s.get('c'))).result).toBeUndefined();
  });

  it('is off by default: the old id is dead at once', async () => {
    const m = manager();
    const first = await from(m, {}, (s) => s.set('a', 1));
    await from(m, { cookie: first.cookie }, (s) => s.regenerate());
    expect((await from(m, { cookie: first.cookie }, (s) => s.all())).result).toEqual({});
  });

  it('works with encryption at rest', async () => {
    const m = manager({ regenerateGrace: 10_000, encrypt: true });
    const first = await from(m, {}, (s) => s.set('a', 1));
    await from(m, { cookie: first.cookie }, (s) => s.login('carol'));
    expect((await from(m, { cookie: first.cookie }, (s) => s.get('a'))).result).toBe(1);
  });
});
