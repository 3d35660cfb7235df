/**
 * The write-on-demand hybrid (`sessionkit/stores/hybrid`) through the manager's neutral API, on
 * real stores (memory, SQLite, Redis, PostgreSQL, and the tiered Redis-over-PostgreSQL store): a
 * session is sealed in the cookie while small and anonymous — no store write, one small read to
 * open it — and moves server-side on login, on outgrowing the cookie, or on `moveServerSide()`;
 * after the move the cookie is the signed id, everything is the store's, and the stateless token
 * is refused. Over HTTP on every adapter: test/adapters/contract.ts (configuration `hybrid`);
 * attacks: test/security/hybrid.test.ts.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionError, type Session } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import { memoryStore } from '../../src/stores/memory.js';
import { type Backend, type BackendKind, tryBackend } from '../support/backends.js';
import { Jar } from '../support/cookie-jar.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';
import { clock, manager, type TestManager } from './helpers.js';

type S = Session<Record<string, unknown>, Record<string, unknown>>;

/** A signed id: the server-side cookie. */
const SIGNED = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
/** A sealed token: the stateless side. */
const SEALED = /^[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

/** One request with the jar's cookies; the jar takes the response's `Set-Cookie` lines. */
async function run<T>(m: TestManager, jar: Jar, handler: (session: S) => Promise<T> | T) {
  const scope = m.begin({ cookie: jar.header, ip: '10.0.0.1', userAgent: 'vitest' });
  const result = await handler(scope.session);
  const out = await scope.end();
  jar.take(out.setCookie);
  return { result, out };
}

/** Every key of `store` (for a look at what it holds). */
async function collectIds(store: { ids?: () => AsyncIterable<string> }): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.ids!()) keys.push(key);
  return keys;
}

/** Data that does not fit in three cookies (incompressible, so the seal cannot shrink it). */
function bulky(): string {
  let text = '';
  for (let i = 0; text.length < 12_000; i++) text += `${(i * 7919) % 100_003}-`;
  return text;
}

for (const kind of ['memory', 'sqlite', 'redis', 'postgres', 'tiered'] as BackendKind[]) {
  describe(`hybrid store over ${kind}`, () => {
    let backend: Backend | undefined;
    let reason: string | undefined;
    const c = clock(Date.now());
    beforeAll(async () => {
      ({ backend, reason } = await tryBackend(kind, { now: c.now }));
    });
    afterAll(async () => backend?.cleanup());

    function setup(options: Parameters<typeof manager>[0] = {}): {
      m: TestManager;
      probe: ProbeStore;
    } {
      if (backend === undefined) throw new Error(reason);
      const probe = probeStore(backend.store);
      const m = manager({
        store: hybridStore({ store: probe, leeway: 0 }),
        now: c.now,
        ...options,
      });
      return { m, probe };
    }

    it('an anonymous session lives in the cookie: no store write, one small read to open it, none untouched', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m, probe } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('cart', [1, 2]));
      expect(jar.get('sid')).toMatch(SEALED);
      expect(probe.total()).toBe(0);
      await run(m, jar, (s) => s.update('cart', (cart) => [...((cart as number[]) ?? []), 3]));
      expect(jar.get('sid')).toMatch(SEALED);
      const read = await run(m, jar, (s) => s.all());
      expect(read.result).toEqual({ cart: [1, 2, 3] });
      expect(read.out.setCookie).toEqual([]);
      // Writes never reach the store; opening a token is one read of the moved-session denylist.
      expect(probe.calls.get('set') ?? 0).toBe(0);
      expect([...probe.calls.keys()]).toEqual(['get']);
      probe.reset();
      await run(m, jar, () => undefined);
      expect(probe.total()).toBe(0);
    });

    it('login moves the session server-side: the cookie is the signed id, the data kept, the stateless token refused', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('cart', [1, 2]));
      const stateless = jar.get('sid')!;
      const login = await run(m, jar, async (s) => {
        s.login('alice');
        await s.commit();
        return s.handle();
      });
      expect(jar.get('sid')).toMatch(SIGNED);
      const after = await run(m, jar, async (s) => ({ data: await s.all(), meta: await s.meta() }));
      expect(after.result.data).toEqual({ cart: [1, 2] });
      expect(after.result.meta.userId).toBe('alice');
      // The session is the store's now: listed for its user, with the handle login resolved.
      const listed = await m.listSessions('alice');
      expect(listed.map((x) => x.handle)).toEqual([login.result]);
      // The stateless token of the session that moved opens nothing.
      m.events.length = 0;
      const replay = await run(m, new Jar(`sid=${stateless}`), async (s) => ({
        data: await s.all(),
        meta: await s.meta(),
      }));
      expect(replay.result.data).toEqual({});
      expect(replay.result.meta.userId).toBeNull();
      expect(replay.out.setCookie).toEqual([]);
      expect(m.events).toContainEqual({
        type: 'invalid-cookie',
        reason: 'revoked',
        ip: '10.0.0.1',
      });
    });

    it('a session that outgrows the cookie moves server-side instead of failing, chunks expired', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m, probe } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('note', 'x'.repeat(5000)));
      // Still stateless, over two chunks.
      expect(jar.names).toEqual(['sid.0', 'sid.1']);
      expect(probe.calls.get('set') ?? 0).toBe(0);
      const chunked = jar.header!;
      const grown = await run(m, jar, (s) => s.set('big', bulky()));
      expect(grown.out.setCookie.filter((l) => l.includes('Max-Age=0'))).toHaveLength(2);
      expect(jar.names).toEqual(['sid']);
      expect(jar.get('sid')).toMatch(SIGNED);
      const read = await run(m, jar, (s) => s.get('big'));
      expect(read.result).toBe(bulky());
      // Both chunks of the stateless token together: refused.
      const replay = await run(m, new Jar(chunked), (s) => s.all());
      expect(replay.result).toEqual({});
    });

    it('moveServerSide() moves an anonymous session; with no session yet it creates one server-side', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('a', 1));
      const stateless = jar.get('sid')!;
      const moved = await run(m, jar, (s) => {
        s.moveServerSide();
        return s.status;
      });
      expect(moved.result).toBe('modified');
      expect(jar.get('sid')).toMatch(SIGNED);
      expect((await run(m, jar, (s) => s.all())).result).toEqual({ a: 1 });
      expect((await run(m, new Jar(`sid=${stateless}`), (s) => s.all())).result).toEqual({});
      // Again, once server-side: nothing to do, nothing re-issued.
      const again = await run(m, jar, (s) => {
        s.moveServerSide();
        return s.status;
      });
      expect(again.out.setCookie).toEqual([]);
      const fresh = new Jar();
      await run(m, fresh, (s) => s.moveServerSide());
      expect(fresh.get('sid')).toMatch(SIGNED);
    });

    it('once server-side, concurrent updates merge through the store: none is lost', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.login('bob'));
      await Promise.all(
        Array.from({ length: 20 }, () =>
          run(m, new Jar(jar.header), (s) => s.update('n', (n) => ((n as number) ?? 0) + 1)),
        ),
      );
      expect((await run(m, jar, (s) => s.get('n'))).result).toBe(20);
    });

    it('a write in lock mode moves the session server-side; from then on lock mode serializes it', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('x', 0));
      expect(jar.get('sid')).toMatch(SEALED);
      // A read in lock mode leaves it stateless; a write moves it.
      const lockedRun = (j: Jar, fn: (s: S) => Promise<unknown> | unknown) =>
        (async () => {
          const scope = m.begin({ cookie: j.header, concurrency: 'lock' });
          await fn(scope.session);
          j.take((await scope.end()).setCookie);
        })();
      await lockedRun(jar, (s) => s.get('x'));
      expect(jar.get('sid')).toMatch(SEALED);
      await lockedRun(jar, (s) => s.set('x', 0));
      expect(jar.get('sid')).toMatch(SIGNED);
      // Read-modify-write with a plain get and set: only the lock keeps these from racing.
      await Promise.all(
        Array.from({ length: 10 }, () =>
          lockedRun(new Jar(jar.header), async (s) => {
            const x = (await s.get('x')) as number;
            await new Promise((resolve) => setTimeout(resolve, 2));
            s.set('x', x + 1);
          }),
        ),
      );
      expect((await run(m, jar, (s) => s.get('x'))).result).toBe(10);
    });

    it('logout ends the server-side session; the next session starts stateless', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('a', 1));
      const stateless = jar.get('sid')!;
      await run(m, jar, (s) => s.login('carol'));
      const signed = jar.get('sid')!;
      await run(m, jar, (s) => s.logout());
      expect(jar.get('sid')).toBeUndefined();
      for (const cookie of [`sid=${signed}`, `sid=${stateless}`]) {
        const replay = await run(m, new Jar(cookie), async (s) => ({
          data: await s.all(),
          user: (await s.meta()).userId,
        }));
        expect(replay.result).toEqual({ data: {}, user: null });
      }
      await run(m, jar, (s) => s.set('b', 2));
      expect(jar.get('sid')).toMatch(SEALED);
    });

    it('outages: reading a sealed token fails closed (503), a request without one never reaches the store, a failed move keeps the sealed token', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m, probe } = setup();
      const jar = new Jar();
      await run(m, jar, (s) => s.set('a', 1));
      const sealed = jar.get('sid')!;
      probe.failing.add('get');
      const read = m.begin({ cookie: jar.header });
      await expect(read.session.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_STORE' });
      await expect(read.end()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE' });
      const fresh = await run(m, new Jar(), (s) => s.set('b', 2));
      expect(fresh.out.setCookie).toHaveLength(1);
      probe.failing.delete('get');
      probe.failing.add('set');
      const login = m.begin({ cookie: jar.header });
      login.session.login('erin');
      await expect(login.end()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE' });
      probe.failing.delete('set');
      expect(jar.get('sid')).toBe(sealed);
      expect((await run(m, jar, (s) => s.all())).result).toEqual({ a: 1 });
    });

    it('revokeAll and revokeSession act on the server-side sessions', async (ctx) => {
      if (backend === undefined) return ctx.skip(reason);
      const { m } = setup();
      const [one, two] = [new Jar(), new Jar()];
      await run(m, one, (s) => s.login('dave'));
      await run(m, two, (s) => s.login('dave'));
      const kept = (await run(m, two, (s) => s.handle())).result!;
      expect(await m.revokeAll('dave', { except: [kept] })).toBe(1);
      expect((await run(m, one, async (s) => (await s.meta()).userId)).result).toBeNull();
      expect((await run(m, two, async (s) => (await s.meta()).userId)).result).toBe('dave');
      expect(await m.revokeSession('dave', kept)).toBe(true);
      expect((await run(m, two, async (s) => (await s.meta()).userId)).result).toBeNull();
    });
  });
}

describe('hybrid store: configuration', () => {
  it('refuses what is not a server-side store, and bad stateless options', () => {
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(() => hybridStore(undefined as never))).toBe(
      'hybridStore() needs an options object with `store`.',
    );
    expect(refused(() => hybridStore({ store: {} as never }))).toMatch(/must be a SessionStore/);
    expect(refused(() => hybridStore({ store: cookieStore() }))).toMatch(/server-side store/);
    const hybrid = hybridStore({ store: memoryStore({ sweepInterval: 0 }) });
    expect(refused(() => hybridStore({ store: hybrid }))).toMatch(/server-side store/);
    expect(refused(() => hybridStore({ store: memoryStore(), leeway: -1 }))).toMatch(
      /^hybridStore: `leeway`/,
    );
    expect(refused(() => hybridStore({ store: memoryStore(), maxChunks: 5 }))).toMatch(
      /^hybridStore: `maxChunks`/,
    );
  });

  it('has exactly the optional methods of its store: lock mode where the store locks', () => {
    const inner = memoryStore({ sweepInterval: 0 });
    const hybrid = hybridStore({ store: inner });
    expect(hybrid.name).toBe('hybrid-memory');
    expect(typeof hybrid.lock).toBe('function');
    expect(manager({ store: hybrid, concurrency: 'lock' }).store).toBe(hybrid);
    const bare = hybridStore({
      store: {
        name: 'bare',
        get: inner.get,
        set: inner.set,
        touch: inner.touch,
        delete: inner.delete,
      },
    });
    expect(bare.lock).toBeUndefined();
    expect(() => manager({ store: bare, concurrency: 'lock' })).toThrow(
      /needs a store with `lock`/,
    );
  });

  it("the store's options work as with the store itself: encrypt, maxSessionsPerUser", async () => {
    const inner = memoryStore({ sweepInterval: 0 });
    const m = manager({
      store: hybridStore({ store: inner }),
      encrypt: true,
      maxSessionsPerUser: 1,
    });
    const [first, second] = [new Jar(), new Jar()];
    await run(m, first, (s) => {
      s.set('secret', 'hunter2');
      s.login('grace');
    });
    const [key] = await collectIds(inner);
    const stored = await inner.get(key!);
    expect(stored?.data).not.toContain('hunter2');
    expect((await run(m, first, (s) => s.get('secret'))).result).toBe('hunter2');
    // The limit of one: the second login evicts the first.
    await run(m, second, (s) => s.login('grace'));
    expect((await run(m, first, async (s) => (await s.meta()).userId)).result).toBeNull();
    expect((await run(m, second, async (s) => (await s.meta()).userId)).result).toBe('grace');
  });

  it('in lock mode, a signed id without a live record falls back to the sealed side and holds no lock', async () => {
    const inner = memoryStore({ sweepInterval: 0 });
    const m = manager({ store: hybridStore({ store: inner }), concurrency: 'lock' });
    const jar = new Jar();
    await run(m, jar, (s) => s.login('heidi'));
    const signed = jar.header!;
    const key = (await run(m, jar, (s) => s.handle())).result!;
    await run(m, new Jar(signed), (s) => s.destroy());
    const replay = await run(m, new Jar(signed), (s) => s.all());
    expect(replay.result).toEqual({});
    await expect(inner.lock!(key, { owner: 'other', ttl: 1000 })).resolves.toBe(true);
  });

  it('over Bearer: the stateless token and, after the move, the signed id travel in the header', async () => {
    const m = manager({ store: hybridStore({ store: memoryStore() }), transport: 'bearer' });
    const call = async (token: string | undefined, fn: (s: S) => unknown) => {
      const scope = m.begin({
        header: (name) => (name === 'authorization' && token ? `Bearer ${token}` : undefined),
      });
      const result = await fn(scope.session);
      const out = await scope.end();
      return { result, token: out.token?.[1], setCookie: out.setCookie };
    };
    const created = await call(undefined, (s) => s.set('a', 1));
    expect(created.token).toMatch(SEALED);
    expect(created.setCookie).toEqual([]);
    const moved = await call(created.token, (s) => s.login('frank'));
    expect(moved.token).toMatch(SIGNED);
    expect((await call(moved.token, (s) => s.all())).result).toEqual({ a: 1 });
    expect((await call(created.token, (s) => s.all())).result).toEqual({});
    // Past the 8192-character header limit a session moves instead of failing.
    const big = await call(undefined, (s) => s.set('big', bulky()));
    expect(big.token).toMatch(SIGNED);
  });

  it('moveServerSide() is refused where there is no server side, and a no-op on server-side stores', async () => {
    const sealed = manager({ store: cookieStore() });
    const scope = sealed.begin({});
    expect(() => scope.session.moveServerSide()).toThrow(/needs a server side/);
    const plain = manager();
    const server = plain.begin({});
    server.session.moveServerSide();
    expect(server.session.status).toBe('unmodified');
    expect((await server.end()).setCookie).toEqual([]);
  });
});
