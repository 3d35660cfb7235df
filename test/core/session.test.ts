import { describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request, SECRET } from './helpers.js';

describe('session data', () => {
  it('get/set/has/delete/pull with dot paths', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, async (s) => {
      s.set('user.profile.name', 'alice');
      s.set('nothing', null);
      expect(await s.get('user.profile.name')).toBe('alice');
      expect(await s.has('nothing')).toBe(true);
      expect(await s.has('missing')).toBe(false);
      expect(await s.get('nothing')).toBeNull();
      expect(await s.get('missing')).toBeUndefined();
    });
    const { cookie: c2 } = await request(m, cookie, async (s) => {
      expect(await s.pull('user.profile.name')).toBe('alice');
      expect(await s.has('user.profile.name')).toBe(false);
      expect(await s.has('user.profile')).toBe(true);
    });
    const { result } = await request(m, c2, (s) => s.all());
    expect(JSON.parse(JSON.stringify(result))).toEqual({ user: { profile: {} }, nothing: null });
  });

  it('refuses __proto__, constructor and prototype path segments', async () => {
    const m = manager();
    await request(m, undefined, async (s) => {
      for (const key of ['__proto__', 'a.__proto__.b', 'constructor', 'x.prototype', '', 'a..b']) {
        expect(() => s.set(key, 1)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_DATA' }));
        await expect(s.get(key)).rejects.toMatchObject({ code: 'ERR_SESSION_DATA' });
      }
    });
    expect(({} as Record<string, unknown>).b).toBeUndefined();
  });

  it('accepts JSON data only', async () => {
    const m = manager();
    await request(m, undefined, (s) => {
      for (const bad of [
        () => undefined,
        Symbol('x'),
        10n,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        new Date(),
        new Map(),
        [undefined],
        { nested: { when: new Date() } },
        JSON.parse('{"__proto__": {"polluted": true}}'),
      ]) {
        expect(() => s.set('x', bad)).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_DATA' }),
        );
      }
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds depth and size at write; growth too small to measure there fails at commit', async () => {
    const m = manager({ maxDepth: 4, maxPayloadBytes: 1024 });
    const scope = m.begin({});
    expect(() => scope.session.set('x', { a: { b: { c: { d: { e: 1 } } } } })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_DATA' }),
    );
    expect(() => scope.session.set('big', 'x'.repeat(2000))).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE', limit: 1024 }),
    );
    expect(scope.session.status).toBe('unmodified'); // the refused write is not recorded
    expect((await scope.end()).setCookie).toEqual([]);
    // Near the bound, a write that grows the session by less than an eighth of it is not
    // measured at the write: the encode at commit refuses it.
    const { cookie } = await request(m, undefined, (s) => s.set('fill', 'x'.repeat(700)));
    const next = m.begin({ cookie });
    await next.session.get('fill');
    next.session.set('more', 'y'.repeat(100));
    await expect(next.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_TOO_LARGE',
      size: expect.any(Number),
    });
  });

  it('returns frozen, null-prototype values; caller mutations cannot leak in', async () => {
    const m = manager();
    const input = { list: [1, 2], inner: { a: 1 } };
    const { cookie } = await request(m, undefined, (s) => s.set('obj', input));
    input.inner.a = 99;
    const { result } = await request(m, cookie, (s) => s.get('obj'));
    const obj = result as { list: number[]; inner: { a: number } };
    expect(obj.inner.a).toBe(1);
    expect(Object.getPrototypeOf(obj)).toBeNull();
    expect(Object.isFrozen(obj.list)).toBe(true);
    expect(() => {
      obj.inner.a = 2;
    }).toThrow(TypeError);
  });

  it('merge writes several keys, keeping the others; clear removes data only', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => {
      s.set('keep', 1);
      s.merge({ a: 1, b: { c: 2 } });
      s.flash.set('f', 'x');
    });
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({
      keep: 1,
      a: 1,
      b: { c: 2 },
    });
    await request(m, cookie, (s) => s.clear());
    const { result } = await request(m, cookie, async (s) => [
      await s.all(),
      await s.flash.get('f'),
    ]);
    expect(result).toEqual([{}, 'x']);
  });

  it('update returns the value computed by this request', async () => {
    const m = manager();
    await request(m, undefined, async (s) => {
      expect(await s.update('n', (n) => Number(n ?? 0) + 1)).toBe(1);
      expect(await s.update('n', (n) => Number(n) * 10)).toBe(10);
      await expect(s.update('n', () => new Date() as never)).rejects.toMatchObject({
        code: 'ERR_SESSION_DATA',
      });
    });
  });

  it('status moves unmodified → modified → unmodified after commit, and destroyed', async () => {
    const m = manager();
    const scope = m.begin({});
    expect(scope.session.status).toBe('unmodified');
    scope.session.set('a', 1);
    expect(scope.session.status).toBe('modified');
    await scope.session.commit();
    expect(scope.session.status).toBe('unmodified');
    scope.session.destroy();
    expect(scope.session.status).toBe('destroyed');
  });

  it('types every accessor from the manager generics', async () => {
    interface Data {
      user: { name: string; roles: string[] };
      counter: number;
    }
    const m = createSessionManager<Data, { success: string }>({
      store: memoryStore(),
      secrets: [SECRET],
      cookie: { secure: false },
    });
    const s = m.begin({}).session;
    s.set('user.name', 'alice');
    s.set('counter', 1);
    // @ts-expect-error a number is not a string
    s.set('user.name', 1);
    // @ts-expect-error unknown key
    s.set('nope', 1);
    s.flash.add('success', 'ok');
    // @ts-expect-error unknown flash kind
    s.flash.add('failure', 'x');
    const n: number | undefined = await s.get('counter');
    expect(n).toBe(1);
  });
});

describe('flash', () => {
  it('one-hop: set → readable once on the next request → gone', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, async (s) => {
      s.flash.set('notice', 'saved');
      expect(await s.flash.get('notice')).toBeUndefined(); // not in the same request
    });
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBe('saved');
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBeUndefined();
  });

  it('now() is visible in this request only', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, async (s) => {
      s.set('x', 1);
      s.flash.now('notice', 'now');
      expect(await s.flash.get('notice')).toBe('now');
    });
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBeUndefined();
  });

  it('message lists: add, peek without consuming, messages read-and-clear', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => {
      s.flash.add('success', 'one');
      s.flash.add('success', 'two');
    });
    expect((await request(m, cookie, (s) => s.flash.peek('success'))).result).toEqual([
      'one',
      'two',
    ]);
    expect((await request(m, cookie, (s) => s.flash.messages('success'))).result).toEqual([
      'one',
      'two',
    ]);
    expect((await request(m, cookie, (s) => s.flash.messages('success'))).result).toEqual([]);
  });

  it('reflash and keep put consumed values back for one more request', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => {
      s.flash.set('a', 1);
      s.flash.set('b', 2);
    });
    await request(m, cookie, async (s) => {
      await s.flash.get('a');
      await s.flash.get('b');
      s.flash.keep('a');
    });
    const { result } = await request(m, cookie, async (s) => [
      await s.flash.get('a'),
      await s.flash.get('b'),
    ]);
    expect(result).toEqual([1, undefined]);
    const { cookie: c2 } = await request(m, cookie, (s) => s.flash.set('c', 3));
    await request(m, c2, async (s) => {
      await s.flash.get('c');
      s.flash.reflash();
    });
    expect((await request(m, c2, (s) => s.flash.get('c'))).result).toBe(3);
  });

  it('flash keys cannot contain dots', async () => {
    const m = manager();
    await request(m, undefined, (s) => {
      expect(() => s.flash.set('a.b', 1)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_STATE' }),
      );
    });
  });
});

describe('CSRF synchronizer token', () => {
  it('is masked differently per call, verifies, and survives to the next request', async () => {
    const m = manager();
    const { result: tokens, cookie } = await request(m, undefined, async (s) => [
      await s.csrfToken(),
      await s.csrfToken(),
    ]);
    expect(tokens[0]).not.toBe(tokens[1]);
    const { result } = await request(m, cookie, async (s) =>
      Promise.all([
        s.verifyCsrfToken(tokens[0]),
        s.verifyCsrfToken(tokens[1]),
        s.verifyCsrfToken(`${tokens[0]!.slice(0, -2)}${tokens[0]!.endsWith('AA') ? 'BB' : 'AA'}`),
        s.verifyCsrfToken(''),
        s.verifyCsrfToken('x'.repeat(10_000)),
        s.verifyCsrfToken(42),
      ]),
    );
    expect(result).toEqual([true, true, false, false, false, false]);
  });

  it('rotates on login and regenerate: the old token is dead', async () => {
    const m = manager();
    const { result: before, cookie } = await request(m, undefined, (s) => s.csrfToken());
    const { result: after, cookie: loggedIn } = await request(m, cookie, async (s) => {
      s.login('alice');
      return s.csrfToken();
    });
    const { result } = await request(m, loggedIn, async (s) => [
      await s.verifyCsrfToken(before),
      await s.verifyCsrfToken(after),
    ]);
    expect(result).toEqual([false, true]);
  });

  it('a token from another session never verifies', async () => {
    const m = manager();
    const a = await request(m, undefined, (s) => s.csrfToken());
    const b = await request(m, undefined, (s) => s.csrfToken());
    expect((await request(m, b.cookie, (s) => s.verifyCsrfToken(a.result))).result).toBe(false);
  });

  it('parallel first requests of a stored session agree on one secret', async () => {
    const store = memoryStore();
    const [a, b] = [manager({ store }), manager({ store })];
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(i % 2 ? a : b, cookie, (s) => s.csrfToken())),
    );
    const checks = await request(a, cookie, (s) =>
      Promise.all(tokens.map((t) => s.verifyCsrfToken(t.result))),
    );
    expect(checks.result).toEqual(Array(10).fill(true));
  });
});
