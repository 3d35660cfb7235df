/**
 * A rotation (login, `regenerate()`) cut short by the store: the new record is written, then the
 * per-user limit is enforced (`evict-oldest`: list the user's sessions, delete the oldest) and the
 * old record deleted. Whatever of that fails, the client keeps a session — the old one, still
 * working, when the request fails (503, no cookie); never neither. No undelivered new record is
 * left behind as a phantom device. Real stores, faults from the probe store.
 */

import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished, type TestContext } from 'vitest';
import { isSessionError } from '../../src/index.js';
import { type BackendKind, tryBackend } from '../support/backends.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';
import { clock, manager, request, type TestManager } from './helpers.js';

for (const kind of ['memory', 'sqlite', 'redis', 'postgres'] as BackendKind[]) {
  describe(`rotation faults over ${kind}`, () => {
    const c = clock(Date.now());

    /**
     * A manager over a fresh backend of `kind` (closed when the test ends), probed, and a user of
     * its own; skips the test, visibly, when the backend is unreachable (fails under `CI=true`).
     */
    async function setup(
      ctx: TestContext,
    ): Promise<{ m: TestManager; probe: ProbeStore; user: string }> {
      const { backend, reason } = await tryBackend(kind, { now: c.now });
      if (backend === undefined) ctx.skip(reason);
      onTestFinished(() => backend!.cleanup());
      // Jitter interleaves the store's answers as a networked backend would.
      const probe = probeStore(backend!.store, { jitter: 2 });
      const user = `user-${randomUUID()}`;
      return { m: manager({ store: probe, now: c.now, maxSessionsPerUser: 2 }), probe, user };
    }

    /** A request that must fail with a store outage; resolves nothing the client could keep. */
    async function failing(
      m: TestManager,
      cookie: string | undefined,
      act: 'regenerate' | { login: string },
    ) {
      const error = await request(m, cookie, (s) =>
        act === 'regenerate' ? s.regenerate() : s.login(act.login),
      ).catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE'), String(error)).toBe(true);
    }

    /** What the client holding `cookie` sees now (a healthy store). */
    async function seen(m: TestManager, cookie: string | undefined) {
      const { result } = await request(m, cookie, async (s) => ({
        user: (await s.meta()).userId,
        cart: (await s.get('cart')) ?? null,
      }));
      return result;
    }

    it('a login whose per-user limit check fails keeps the anonymous session, leaves no phantom device', async (ctx) => {
      const { m, probe, user } = await setup(ctx);
      const { cookie } = await request(m, undefined, (s) => s.set('cart', [1]));
      probe.failing.add('listByUser');
      await failing(m, cookie, { login: user });
      probe.failing.clear();
      expect(await seen(m, cookie)).toEqual({ user: null, cart: [1] });
      expect(await m.listSessions(user)).toEqual([]);
    });

    it('a rotation of a signed-in session whose limit check fails keeps the old session', async (ctx) => {
      const { m, probe, user } = await setup(ctx);
      const { cookie } = await request(m, undefined, (s) => {
        s.login(user);
        s.set('cart', [2]);
      });
      const [before] = await m.listSessions(user);
      probe.failing.add('listByUser');
      await failing(m, cookie, 'regenerate');
      probe.failing.clear();
      expect(await seen(m, cookie)).toEqual({ user, cart: [2] });
      expect((await m.listSessions(user)).map((s) => s.handle)).toEqual([before!.handle]);
    });

    it("a rotation whose old record's delete fails keeps the old session and drops the undelivered new one", async (ctx) => {
      const { m, probe, user } = await setup(ctx);
      const { cookie } = await request(m, undefined, (s) => {
        s.login(user);
        s.set('cart', [3]);
      });
      const [before] = await m.listSessions(user);
      probe.failWhen = ([method, [key]]) => method === 'delete' && key === before!.handle;
      await failing(m, cookie, 'regenerate');
      await failing(m, cookie, { login: user });
      probe.failWhen = undefined;
      expect(await seen(m, cookie)).toEqual({ user, cart: [3] });
      expect((await m.listSessions(user)).map((s) => s.handle)).toEqual([before!.handle]);
    });

    it('the limit still evicts the oldest other device at a healthy login, never the session it rotates from', async (ctx) => {
      const { m, user } = await setup(ctx);
      const first = await request(m, undefined, (s) => s.login(user));
      c.advance(1_000);
      const second = await request(m, undefined, (s) => s.login(user));
      c.advance(1_000);
      // The oldest is `first`; rotating it must not evict it as "another device" before its own
      // delete: it ends as the rotation's old record, `second` stays, one new session joins.
      const rotated = await request(m, first.cookie, (s) => s.regenerate());
      const handles = (await m.listSessions(user)).map((s) => s.handle).sort();
      expect(handles).toHaveLength(2);
      expect(await seen(m, rotated.cookie)).toMatchObject({ user });
      expect(await seen(m, second.cookie)).toMatchObject({ user });
      expect(await seen(m, first.cookie)).toMatchObject({ user: null });
      const third = await request(m, undefined, (s) => s.login(user));
      expect(await seen(m, third.cookie)).toMatchObject({ user });
      expect(await seen(m, second.cookie)).toMatchObject({ user: null }); // the oldest, evicted
      expect(await seen(m, rotated.cookie)).toMatchObject({ user });
    });
  });
}
