/**
 * A user's sessions on a server-side store (`src/core/users.ts`): the "your devices" list, its
 * order, `current` and `lastSeenAt`; which listed records count as the user's live sessions;
 * `revokeSession` ownership and its event; `revokeAll` when cleanup fails; the `reject` and
 * `evict-oldest` limits; and the refusal of stores without the per-user methods. A memory store
 * on the real clock under a manager on a test clock, so that the manager alone decides expiry.
 */

import { describe, expect, it } from 'vitest';
import type { SessionManagerOptions } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { clock, manager, request } from './helpers.js';

const IDLE = 60_000;
const TOUCH = 1_000;

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock(Date.now());
  const inner = memoryStore({ sweepInterval: 0 });
  const store = probeStore(inner);
  const m = manager({ store, now: c.now, idleTimeout: IDLE, touchInterval: TOUCH, ...options });
  /** Sign `userId` in on a new device; resolves its cookie and its handle. */
  const login = async (userId: string) => {
    const { cookie } = await request(m, undefined, (s) => s.login(userId));
    const { result } = await request(m, cookie, (s) => s.handle());
    return { cookie: cookie!, handle: result! };
  };
  return { c, inner, store, m, login };
}

describe('listSessions', () => {
  it('newest activity first, lastSeenAt from the slid expiry, current marks exactly the given handle', async () => {
    const { c, m, login } = setup();
    const t0 = c.now();
    const a = await login('alice');
    c.advance(10);
    const b = await login('alice');
    c.advance(10);
    const d = await login('alice');
    c.advance(5_000);
    await request(m, a.cookie, (s) => s.get('x')); // a read after touchInterval slides a's expiry
    c.advance(7);
    const list = await m.listSessions('alice', { current: b.handle });
    expect(list.map((i) => i.handle)).toEqual([a.handle, d.handle, b.handle]);
    expect(list.map((i) => i.current)).toEqual([false, false, true]);
    // a: last written at t0, touched at t0 + 5020 (its expiry then is that + IDLE).
    expect(list.map((i) => i.lastSeenAt - t0)).toEqual([5_020, 20, 10]);
    expect(list[0]!.expiresAt).toBe(t0 + 5_020 + IDLE);
  });

  it('leaves out a session at exactly its expiry by the manager clock, though the store still lists it', async () => {
    const { c, m, inner, login } = setup();
    const a = await login('alice');
    c.advance(IDLE - 1);
    expect((await m.listSessions('alice')).map((i) => i.handle)).toEqual([a.handle]);
    c.advance(1);
    expect(await inner.listByUser!('alice')).toHaveLength(1);
    expect(await m.listSessions('alice')).toEqual([]);
  });

  it("a listed record whose payload names another user is not that user's session", async () => {
    const { m, inner, login } = setup();
    const bob = await login('bob');
    const record = await inner.get(bob.handle);
    await inner.set(bob.handle, { ...record!, userId: 'alice' }); // a stale or tampered index
    expect((await inner.listByUser!('alice')).map((e) => e.key)).toEqual([bob.handle]);
    expect(await m.listSessions('alice')).toEqual([]);
  });

  it('for a user with no session, reads no user record (one listByUser, no get)', async () => {
    const { m, store } = setup();
    store.reset();
    expect(await m.listSessions('nobody')).toEqual([]);
    expect([store.calls.get('listByUser'), store.calls.get('get')]).toEqual([1, undefined]);
  });
});

describe('revokeSession and revokeAll', () => {
  it("revokeSession: another user's handle is refused; one revoke event for the one that went", async () => {
    const { m, store, login } = setup();
    const a = await login('alice');
    expect(await m.revokeSession('bob', a.handle)).toBe(false);
    expect((await m.listSessions('alice')).map((i) => i.handle)).toEqual([a.handle]);
    // Two at once: both find the record, one deletes it; only that one emits.
    store.delays.set('delete', 20);
    const results = await Promise.all([
      m.revokeSession('alice', a.handle),
      m.revokeSession('alice', a.handle),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect(m.events.filter((e) => e.type === 'revoke')).toEqual([
      { type: 'revoke', handle: a.handle.slice(0, 12), userId: 'alice' },
    ]);
    expect(await m.listSessions('alice')).toEqual([]);
  });

  it('revokeAll stands when the cleanup delete fails: the revoked sessions are not listed', async () => {
    const { m, store, login } = setup();
    await login('alice');
    await login('alice');
    const kept = await login('alice');
    store.failing.add('deleteByUser');
    expect(await m.revokeAll('alice', { except: [kept.handle] })).toBe(2);
    store.failing.delete('deleteByUser');
    expect((await m.listSessions('alice')).map((i) => i.handle)).toEqual([kept.handle]);
  });

  it('without the per-user store methods: ConfigError naming the store and the method', async () => {
    const { listByUser: _l, deleteByUser: _d, ...bare } = memoryStore({ sweepInterval: 0 });
    const m = manager({ store: bare });
    const error = (method: string) => ({
      code: 'ERR_SESSION_CONFIG',
      message: `The memory store has no \`${method}\`; per-user features need it.`,
    });
    await expect(m.listSessions('alice')).rejects.toMatchObject(error('listByUser'));
    await expect(m.revokeSession('alice', 'x'.repeat(43))).rejects.toMatchObject(
      error('listByUser'),
    );
    const { deleteByUser: _only, ...noDelete } = memoryStore({ sweepInterval: 0 });
    await expect(manager({ store: noDelete }).revokeAll('alice')).rejects.toMatchObject(
      error('deleteByUser'),
    );
  });
});

describe('per-user limits', () => {
  it('reject: a user already full is refused before the user lock is taken', async () => {
    const { m, store, login } = setup({ maxSessionsPerUser: 1, sessionLimit: 'reject' });
    await login('bob');
    store.reset();
    const scope = m.begin({});
    scope.session.login('bob');
    await expect(scope.end()).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT', limit: 1 });
    expect([store.calls.get('lock'), store.calls.get('set')]).toEqual([undefined, undefined]);
  });

  it('reject: parallel logins that all passed the first count are counted again under the lock', async () => {
    const { m, store } = setup({ maxSessionsPerUser: 2, sessionLimit: 'reject' });
    store.delays.set('lock', 20); // every login counts 0 sessions before any takes the lock
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const scope = m.begin({});
        scope.session.login('carol');
        return scope.end().then(
          () => 'in',
          (error: { code?: string }) => error.code,
        );
      }),
    );
    expect(outcomes.sort()).toEqual([
      'ERR_SESSION_LIMIT',
      'ERR_SESSION_LIMIT',
      'ERR_SESSION_LIMIT',
      'in',
      'in',
    ]);
    expect(await m.listSessions('carol')).toHaveLength(2);
  });

  it('evict-oldest: the least recently used session goes, not the first one listed', async () => {
    const { c, m, login } = setup({ maxSessionsPerUser: 2, sessionLimit: 'evict-oldest' });
    const d0 = await login('dave');
    c.advance(10);
    const d1 = await login('dave');
    c.advance(5_000);
    await request(m, d0.cookie, (s) => s.get('x')); // d0 is now the most recently used
    c.advance(10);
    const d2 = await login('dave');
    expect((await m.listSessions('dave')).map((i) => i.handle)).toEqual([d2.handle, d0.handle]);
    expect(m.events.filter((e) => e.type === 'evict')).toEqual([
      { type: 'evict', handle: d1.handle.slice(0, 12), userId: 'dave' },
    ]);
  });
});
