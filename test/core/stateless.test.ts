/**
 * Sealed-cookie sessions (`sessionkit/stores/cookie`) through the manager's neutral API: sealing
 * and opening, claims and leeway, key rotation, chunking, touch, rotation of ids, lock mode
 * refused. The same over real HTTP on every adapter: test/adapters/contract.ts; attacks:
 * test/security/stateless.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { isSessionError, type Session, type SessionEvent } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { memoryStore } from '../../src/stores/memory.js';
import { Jar } from '../support/cookie-jar.js';
import { probeStore } from '../support/probe-store.js';
import { clock, manager, SECRET, type TestManager } from './helpers.js';

const MINUTE = 60_000;
type S = Session<Record<string, unknown>, Record<string, unknown>>;

/** A manager over a sealed-cookie store with a controllable clock. */
function sealed(options: Parameters<typeof manager>[0] = {}, store = cookieStore()) {
  const c = clock();
  const m = manager({ store, now: c.now, ...options });
  return { m, clock: c };
}

/** One request with the jar's cookies; the jar takes the response's Set-Cookie lines. */
async function run<T>(
  m: TestManager,
  jar: Jar,
  handler: (session: S) => Promise<T> | T,
  client: { ip?: string; userAgent?: string } = {},
) {
  const scope = m.begin({
    cookie: jar.header,
    ip: client.ip ?? '10.0.0.1',
    userAgent: client.userAgent ?? 'vitest',
  });
  const result = await handler(scope.session);
  const out = await scope.end();
  jar.take(out.setCookie);
  return { result, out };
}

function token(jar: Jar): string {
  return jar.get('sid') ?? '';
}

describe('sealed-cookie sessions: round trip and cost', () => {
  it('the session travels in the cookie: written, read back, never a store call', async () => {
    const { m } = sealed();
    const jar = new Jar();
    const first = await run(m, jar, (s) => s.set('cart', { items: [1, 2], note: 'Zoë ✓' }));
    expect(first.out.setCookie).toHaveLength(1);
    expect(first.out.setCookie[0]).toMatch(
      /^sid=0\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const read = await run(m, jar, (s) => s.all());
    expect(read.result).toEqual({ cart: { items: [1, 2], note: 'Zoë ✓' } });
    expect(read.out.setCookie).toEqual([]);
    expect(read.out.vary).toBe(true);
    expect(m.events.filter((e) => e.type === 'store-error')).toEqual([]);
  });

  it('an untouched request opens nothing: no decrypt, no event, no header', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    m.events.length = 0;
    // A forged token next to the real one: only reading the session would report it.
    const forged = new Jar(`${jar.header}; sid.0=AAAA`);
    const scope = m.begin({ cookie: forged.header });
    const out = await scope.end();
    expect(out).toEqual({ setCookie: [], vary: false, varyOn: 'Cookie', cacheControl: undefined });
    expect(m.events).toEqual([]);
  });

  it('every seal uses a fresh IV: the same session sealed twice differs', async () => {
    const { m } = sealed();
    const a = await run(m, new Jar(), (s) => s.set('a', 1));
    const b = await run(m, new Jar(), (s) => s.set('a', 1));
    const iv = (line: string) => line.split(';')[0]!.split('.')[1];
    expect(iv(a.out.setCookie[0]!)).not.toBe(iv(b.out.setCookie[0]!));
  });

  it('IVs never repeat across many seals (they are drawn from the CSPRNG 128 at a time)', async () => {
    const { m } = sealed();
    const ivs = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const { out } = await run(m, new Jar(), (s) => s.set('a', 1));
      ivs.add(out.setCookie[0]!.split(';')[0]!.split('.')[1]!);
    }
    expect(ivs.size).toBe(300);
    for (const iv of ivs) expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
  });

  it('a body whose last character differs only in bits base64url ignores is refused', async () => {
    const { m } = sealed();
    // Grow the session until the body's length leaves unused bits in its last character.
    let jar = new Jar();
    const body = () => (token(jar).split('.')[2] ?? '').length % 4;
    for (let n = 0; body() === 0 || body() === 1; n++) {
      jar = new Jar();
      await run(m, jar, (s) => s.set('a', 'x'.repeat(n)));
    }
    const genuine = token(jar);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(genuine.at(-1)!) ^ 1]!; // an unused bit only
    const loose = `${genuine.slice(0, -1)}${sibling}`;
    expect(Buffer.from(loose.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(genuine.split('.')[2]!, 'base64url'),
    );
    expect((await run(m, new Jar(`sid=${genuine}`), (s) => s.get('a'))).result).toBeDefined();
    for (const variant of [loose, `${genuine}=`]) {
      m.events.length = 0;
      const read = await run(m, new Jar(`sid=${variant}`), (s) => s.all());
      expect(read.result, variant).toEqual({});
      expect(m.events).toContainEqual(
        expect.objectContaining({ type: 'invalid-cookie', reason: 'malformed' }),
      );
    }
  });

  it('a token sealed under another secret with the same key id does not open', async () => {
    const { m } = sealed();
    const other = manager({ store: cookieStore(), secrets: [`${SECRET}-other-secret`] });
    const jar = new Jar();
    await run(other, jar, (s) => s.set('owner', 'attacker'));
    expect(token(jar).startsWith('0.')).toBe(true);
    const read = await run(m, jar, (s) => s.all());
    expect(read.result).toEqual({});
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'signature' }),
    );
  });
});

describe('sealed-cookie sessions: claims, timeouts and leeway', () => {
  it('idle timeout: a session unused past its idle deadline (plus leeway) is anonymous', async () => {
    const { m, clock: c } = sealed({ idleTimeout: 10 * MINUTE, touchInterval: MINUTE });
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    const old = jar.clone();
    c.advance(10 * MINUTE + 4_000); // within the 5 s leeway
    expect((await run(m, old.clone(), (s) => s.all())).result).toEqual({ a: 1 });
    c.advance(1_001);
    expect((await run(m, old.clone(), (s) => s.all())).result).toEqual({});
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'expire', reason: 'idle' }));
  });

  it('a read after touchInterval re-seals the cookie, moving the idle deadline; before, nothing', async () => {
    const { m, clock: c } = sealed({ idleTimeout: 10 * MINUTE, touchInterval: MINUTE });
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    c.advance(30_000);
    expect((await run(m, jar, (s) => s.get('a'))).out.setCookie).toEqual([]);
    c.advance(31_000);
    const touched = await run(m, jar, (s) => s.get('a'));
    expect(touched.out.setCookie).toHaveLength(1);
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'touch' }));
    c.advance(9 * MINUTE); // 10 min after creation, 9 after the touch
    expect((await run(m, jar, (s) => s.get('a'))).result).toBe(1);
  });

  it('absolute timeout: activity never extends it', async () => {
    const { m, clock: c } = sealed({
      idleTimeout: 10 * MINUTE,
      absoluteTimeout: 30 * MINUTE,
      touchInterval: 0,
    });
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 0));
    for (let i = 1; i <= 3; i++) {
      c.advance(9 * MINUTE);
      await run(m, jar, (s) => s.set('a', i));
    }
    c.advance(3 * MINUTE + 5_001); // 30 min + leeway after creation
    expect((await run(m, jar, (s) => s.all())).result).toEqual({});
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'expire', reason: 'absolute' }),
    );
  });

  it('a token issued in the future (beyond the leeway) is refused; within it, accepted', async () => {
    const { m } = sealed();
    const ahead = clock();
    const fast = manager({ store: cookieStore(), now: () => ahead.now() + 5_000 });
    const within = new Jar();
    await run(fast, within, (s) => s.set('a', 1));
    expect((await run(m, within, (s) => s.all())).result).toEqual({ a: 1 });
    const faster = manager({ store: cookieStore(), now: () => ahead.now() + 5_001 });
    const beyond = new Jar();
    await run(faster, beyond, (s) => s.set('a', 1));
    expect((await run(m, beyond, (s) => s.all())).result).toEqual({});
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'claims' }),
    );
  });

  it('the leeway is configurable and bounded: 0 to 300 000 ms', async () => {
    const { m } = sealed({}, cookieStore({ leeway: 0 }));
    const ahead = clock();
    const fast = manager({ store: cookieStore(), now: () => ahead.now() + 1 });
    const jar = new Jar();
    await run(fast, jar, (s) => s.set('a', 1));
    expect((await run(m, jar, (s) => s.all())).result).toEqual({});
    for (const leeway of [-1, 300_001, 1.5, Number.NaN]) {
      expect(() => cookieStore({ leeway })).toThrowError(
        expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
      );
    }
    expect(() => cookieStore({ leeway: 300_000 })).not.toThrow();
  });
});

describe('sealed-cookie sessions: key rotation', () => {
  const primary = { id: 'k2', secret: `${SECRET}-second-key-material` };
  const previous = { id: 'k1', secret: SECRET };

  it('old keys only open; a read re-seals under the primary after touchInterval, a write at once', async () => {
    const c = clock();
    const before = manager({ store: cookieStore(), secrets: [previous], now: c.now });
    const after = manager({ store: cookieStore(), secrets: [primary, previous], now: c.now });
    const jar = new Jar();
    await run(before, jar, (s) => s.set('a', 1));
    expect(token(jar).startsWith('k1.')).toBe(true);
    const read = await run(after, jar, (s) => s.get('a'));
    expect(read.result).toBe(1);
    expect(read.out.setCookie).toEqual([]); // within touchInterval: left alone
    c.advance(60_000);
    const touched = await run(after, jar, (s) => s.get('a'));
    expect(touched.out.setCookie).toHaveLength(1);
    expect(token(jar).startsWith('k2.')).toBe(true);

    const again = new Jar();
    await run(before, again, (s) => s.set('b', 2));
    const write = await run(after, again, (s) => s.set('c', 3));
    expect(write.out.setCookie).toHaveLength(1);
    expect(token(again).startsWith('k2.')).toBe(true);
    expect((await run(after, again, (s) => s.all())).result).toEqual({ b: 2, c: 3 });
  });

  it('a removed key no longer opens anything', async () => {
    const before = manager({ store: cookieStore(), secrets: [previous] });
    const removed = manager({ store: cookieStore(), secrets: [primary] });
    const jar = new Jar();
    await run(before, jar, (s) => s.set('a', 1));
    expect((await run(removed, jar, (s) => s.all())).result).toEqual({});
    expect(removed.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'malformed' }),
    );
  });
});

describe('sealed-cookie sessions: chunking', () => {
  const big = (n: number) => 'x'.repeat(n);

  it('above one cookie the token spans name.0…, every Set-Cookie line within 4096 bytes', async () => {
    const { m } = sealed();
    const jar = new Jar();
    const out = (await run(m, jar, (s) => s.set('blob', big(5000)))).out;
    expect(out.setCookie.map((l) => l.split('=')[0])).toEqual(['sid.0', 'sid.1']);
    for (const line of out.setCookie) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(out.setCookie[0]!)).toBe(4096);
    expect((await run(m, jar, (s) => s.get('blob'))).result).toBe(big(5000));
  });

  it('the budget counts attributes: a persistent cookie with Max-Age and Expires still fits', async () => {
    const { m } = sealed({
      persistent: true,
      cookie: { secure: true, domain: 'example.com', name: '__Secure-s' },
    });
    const jar = new Jar();
    const out = (await run(m, jar, (s) => s.set('blob', big(5000)))).out;
    expect(out.setCookie.length).toBeGreaterThan(1);
    for (const line of out.setCookie) {
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
      expect(line).toMatch(/; Max-Age=\d+; Expires=/);
    }
  });

  it('a session that shrinks goes back to one cookie and expires the stale chunks', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('blob', big(7000)));
    expect(jar.names).toEqual(['sid.0', 'sid.1', 'sid.2']);
    const shrink = await run(m, jar, (s) => s.delete('blob'));
    expect(shrink.out.setCookie.map((l) => l.split(';')[0]!.split('=')[0])).toEqual([
      'sid',
      'sid.0',
      'sid.1',
      'sid.2',
    ]);
    expect(shrink.out.setCookie.slice(1).every((l) => l.includes('Max-Age=0'))).toBe(true);
    expect(jar.names).toEqual(['sid']);
    // Growing again expires the single cookie; shrinking to fewer chunks expires the rest.
    await run(m, jar, (s) => s.set('blob', big(7000)));
    expect(jar.names).toEqual(['sid.0', 'sid.1', 'sid.2']);
    const fewer = await run(m, jar, (s) => s.set('blob', big(5000)));
    expect(
      fewer.out.setCookie.filter((l) => l.includes('Max-Age=0')).map((l) => l.split('=')[0]),
    ).toEqual(['sid.2']);
    expect(jar.names).toEqual(['sid.0', 'sid.1']);
    expect((await run(m, jar, (s) => s.get('blob'))).result).toBe(big(5000));
  });

  it('both shapes are always read', async () => {
    const { m } = sealed();
    const small = new Jar();
    await run(m, small, (s) => s.set('a', 1));
    const large = new Jar();
    await run(m, large, (s) => s.set('blob', big(5000)));
    expect((await run(m, small.clone(), (s) => s.get('a'))).result).toBe(1);
    expect((await run(m, large.clone(), (s) => s.get('blob'))).result).toBe(big(5000));
    // A one-cookie token presented as a single chunk still opens.
    const asChunk = new Jar(`sid.0=${token(small)}`);
    expect((await run(m, asChunk, (s) => s.get('a'))).result).toBe(1);
  });

  it('above maxChunks the commit fails with a typed error naming the size and the largest keys', async () => {
    const { m } = sealed({}, cookieStore({ maxChunks: 2 }));
    const jar = new Jar();
    const scope = m.begin({});
    scope.session.set('cart', big(7000));
    scope.session.set('prefs', big(300));
    scope.session.set('n', 1);
    const error = await scope.end().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_TOO_LARGE')).toBe(true);
    const tooLarge = error as {
      size: number;
      limit: number;
      largestKeys: { key: string; bytes: number }[];
      message: string;
    };
    expect(tooLarge.size).toBeGreaterThan(tooLarge.limit);
    expect(tooLarge.limit).toBeLessThan(2 * 4096);
    expect(tooLarge.largestKeys.map((k) => k.key)).toEqual(['cart', 'prefs', 'n']);
    expect(tooLarge.largestKeys[0]!.bytes).toBe(7002);
    expect(tooLarge.message).toContain(`${tooLarge.size} bytes`);
    expect(tooLarge.message).toContain('cart (7002 bytes)');
    expect(jar.names).toEqual([]);
  });

  it('maxChunks is validated: 1 to 4', () => {
    for (const maxChunks of [0, 5, 2.5]) {
      expect(() => cookieStore({ maxChunks })).toThrowError(
        expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
      );
    }
  });
});

describe('sealed-cookie sessions: lifecycle', () => {
  it('regenerate and login issue a new session id; the data is kept', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    const before = (await run(m, jar, (s) => s.handle())).result;
    await run(m, jar, (s) => s.login('alice'));
    const after = await run(m, jar, async (s) => ({
      handle: await s.handle(),
      meta: await s.meta(),
      all: await s.all(),
    }));
    expect(after.result.handle).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(after.result.handle).not.toBe(before);
    expect(after.result.meta.userId).toBe('alice');
    expect(after.result.all).toEqual({ a: 1 });
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'regenerate' }));
  });

  it('destroy expires every cookie name the request presented', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('blob', 'x'.repeat(5000)));
    const out = (await run(m, jar, (s) => s.destroy())).out;
    expect(out.setCookie.map((l) => l.split(';')[0])).toEqual(['sid.0=', 'sid.1=']);
    expect(out.setCookie.every((l) => l.includes('Max-Age=0'))).toBe(true);
    expect(jar.names).toEqual([]);
  });

  it('logout leaves a fresh, empty session only once something is written', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.login('alice'));
    const out = (await run(m, jar, (s) => s.logout())).out;
    expect(out.setCookie).toEqual([expect.stringMatching(/^sid=; .*Max-Age=0/)]);
    expect((await run(m, jar, (s) => s.meta())).result.userId).toBeNull();
  });

  it('persistent sessions carry Max-Age up to the absolute deadline', async () => {
    const { m } = sealed();
    const jar = new Jar();
    const out = (await run(m, jar, (s) => s.login('alice', { persistent: true }))).out;
    expect(out.setCookie[0]).toMatch(/; Max-Age=43200; Expires=/);
  });

  it('flash is consumed once per cookie: the response that reads it drops it from the cookie', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.flash.set('notice', 'Saved'));
    const old = jar.clone();
    const first = await run(m, jar, (s) => s.flash.get('notice'));
    expect(first.result).toBe('Saved');
    expect(first.out.setCookie).toHaveLength(1);
    expect((await run(m, jar, (s) => s.flash.get('notice'))).result).toBeUndefined();
    // The cookie the browser held before carries it still: stateless means no consumption record
    // (docs/stateless.md, "Concurrency").
    expect((await run(m, old, (s) => s.flash.get('notice'))).result).toBe('Saved');
  });

  it('the CSRF secret is created in the cookie and verified from it', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    const issued = await run(m, jar, (s) => s.csrfToken());
    expect(issued.out.setCookie).toHaveLength(1);
    expect((await run(m, jar, (s) => s.verifyCsrfToken(issued.result))).result).toBe(true);
    expect((await run(m, new Jar(), (s) => s.verifyCsrfToken(issued.result))).result).toBe(false);
  });

  it('a fingerprint mismatch under policy destroy is anonymous and expires the cookie', async () => {
    const { m } = sealed({ fingerprint: { userAgent: true, policy: 'destroy' } });
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1), { userAgent: 'browser A' });
    const other = await run(m, jar, (s) => s.all(), { userAgent: 'browser B' });
    expect(other.result).toEqual({});
    expect(other.out.setCookie).toEqual([expect.stringMatching(/^sid=; .*Max-Age=0/)]);
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'fingerprint-mismatch', policy: 'destroy' }),
    );
  });
});

describe('sealed-cookie sessions: concurrency is honest', () => {
  it('lock mode is refused with a ConfigError, on the manager and per request', () => {
    let error: unknown;
    try {
      manager({ store: cookieStore(), concurrency: 'lock' });
    } catch (e) {
      error = e;
    }
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/"lock" is not available with sealed-cookie sessions/);
    const { m } = sealed();
    expect(() => m.begin({ concurrency: 'lock' })).toThrowError(/not available with sealed-cookie/);
  });

  it('encrypt is refused: a sealed cookie is always encrypted', () => {
    expect(() => manager({ store: cookieStore(), encrypt: true })).toThrowError(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('parallel writers each get a cookie; the last one the browser stores wins', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('n', 0));
    const a = jar.clone();
    const b = jar.clone();
    await Promise.all([run(m, a, (s) => s.set('x', 'a')), run(m, b, (s) => s.set('y', 'b'))]);
    // No merge across cookies: each carries only its own write.
    expect((await run(m, a, (s) => s.all())).result).toEqual({ n: 0, x: 'a' });
    expect((await run(m, b, (s) => s.all())).result).toEqual({ n: 0, y: 'b' });
  });

  it('events carry handles only', async () => {
    const { m } = sealed();
    const jar = new Jar();
    await run(m, jar, (s) => s.login('alice'));
    const text = JSON.stringify(m.events satisfies SessionEvent[]);
    expect(text).not.toContain(token(jar).slice(0, 40));
  });
});

describe('sealed-cookie sessions: revocation through a revocation store', () => {
  /** A sealed manager whose revocation store counts calls and can fail. */
  function revocable(options: Parameters<typeof manager>[0] = {}, jitter = 0) {
    const c = clock();
    // The revocation store judges expiry by the same clock as the manager.
    const revocation = probeStore(memoryStore({ now: c.now }), { jitter });
    const m = manager({ store: cookieStore({ revocation }), now: c.now, ...options });
    return { m, clock: c, revocation, calls: () => revocation.total() };
  }

  it('without one, the revoke APIs and the per-user limit throw a ConfigError saying so', async () => {
    const { m } = sealed();
    for (const call of [
      () => m.revokeSession('alice', 'x'.repeat(43)),
      () => m.revokeAll('alice'),
      () => m.listSessions('alice'),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
      expect((error as Error).message).toMatch(
        /unavailable: sealed-cookie sessions can only be revoked through a revocation store/,
      );
    }
    expect(() => manager({ store: cookieStore(), maxSessionsPerUser: 2 })).toThrowError(
      /needs a revocation store/,
    );
  });

  it('anonymous sessions do no revocation I/O; signed-in reads check it', async () => {
    const { m, calls } = revocable();
    const jar = new Jar();
    await run(m, jar, (s) => s.set('a', 1));
    await run(m, jar, (s) => s.all());
    await run(m, jar, (s) => s.set('b', 2));
    expect(calls()).toBe(0);
    await run(m, jar, (s) => s.login('alice'));
    const before = calls();
    expect(before).toBeGreaterThan(0);
    await run(m, jar, (s) => s.all());
    expect(calls() - before).toBe(2); // the denylist and the user record, in parallel
  });

  it('logout, destroy and regenerate are final: a copy of the old cookie is refused', async () => {
    const { m } = revocable();
    for (const end of [(s: S) => s.logout(), (s: S) => s.destroy(), (s: S) => s.regenerate()]) {
      const jar = new Jar();
      await run(m, jar, (s) => {
        s.login('alice');
        s.set('secret', 'mine');
      });
      const copy = jar.clone();
      await run(m, jar, end);
      const replay = await run(m, copy, async (s) => ({
        all: await s.all(),
        meta: await s.meta(),
      }));
      expect(replay.result.all).toEqual({});
      expect(replay.result.meta.userId).toBeNull();
      expect(replay.out.setCookie).toEqual([]);
    }
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'revoked' }),
    );
  });

  it('revokeSession ends one device and checks ownership', async () => {
    const { m } = revocable();
    const phone = new Jar();
    const laptop = new Jar();
    await run(m, phone, (s) => s.login('alice'));
    await run(m, laptop, (s) => s.login('alice'));
    const handle = (await run(m, phone, (s) => s.handle())).result!;
    expect(await m.revokeSession('bob', handle)).toBe(false);
    expect(await m.revokeSession('alice', 'A'.repeat(43))).toBe(false);
    expect(await m.revokeSession('alice', handle)).toBe(true);
    expect((await run(m, phone, (s) => s.meta())).result.userId).toBeNull();
    expect((await run(m, laptop, (s) => s.meta())).result.userId).toBe('alice');
    expect(await m.revokeSession('alice', handle)).toBe(false);
  });

  it('revokeAll ends every other session of the user (generation), keeps except, spares other users', async () => {
    const { m } = revocable();
    const devices = [new Jar(), new Jar(), new Jar()];
    for (const jar of devices) await run(m, jar, (s) => s.login('alice'));
    const bob = new Jar();
    await run(m, bob, (s) => s.login('bob'));
    const current = (await run(m, devices[0]!, (s) => s.handle())).result!;
    expect(await m.revokeAll('alice', { except: [current] })).toBe(2);
    expect((await run(m, devices[0]!, (s) => s.meta())).result.userId).toBe('alice');
    for (const jar of devices.slice(1))
      expect((await run(m, jar, (s) => s.meta())).result.userId).toBeNull();
    expect((await run(m, bob, (s) => s.meta())).result.userId).toBe('bob');
    // The kept session re-seals with the new generation and survives; a later revokeAll ends it.
    await run(m, devices[0]!, (s) => s.set('after', true));
    expect((await run(m, devices[0]!, (s) => s.get('after'))).result).toBe(true);
    expect(await m.revokeAll('alice')).toBe(1);
    expect((await run(m, devices[0]!, (s) => s.meta())).result.userId).toBeNull();
    // A login after revokeAll is sealed with the current generation.
    const fresh = new Jar();
    await run(m, fresh, (s) => s.login('alice'));
    expect((await run(m, fresh, (s) => s.meta())).result.userId).toBe('alice');
  });

  it('listSessions shows the devices of a user, current marked, last seen updated after touchInterval', async () => {
    const { m, clock: c } = revocable({ touchInterval: MINUTE });
    const phone = new Jar();
    await run(m, phone, (s) => s.login('alice'), { ip: '10.0.0.7', userAgent: 'Phone' });
    c.advance(1000);
    const laptop = new Jar();
    await run(m, laptop, (s) => s.login('alice'), { ip: '10.0.0.8', userAgent: 'Laptop' });
    const current = (await run(m, laptop, (s) => s.handle())).result!;
    const list = await m.listSessions('alice', { current });
    expect(list.map((d) => [d.userAgent, d.ip, d.current])).toEqual([
      ['Laptop', '10.0.0.8', true],
      ['Phone', '10.0.0.7', false],
    ]);
    const phoneSeen = list[1]!.lastSeenAt;
    c.advance(2 * MINUTE);
    await run(m, phone, (s) => s.all());
    const after = await m.listSessions('alice');
    expect(after[0]!.userAgent).toBe('Phone');
    expect(after[0]!.lastSeenAt).toBe(phoneSeen + 2 * MINUTE + 1000);
    expect(await m.listSessions('nobody')).toEqual([]);
  });

  it('maxSessionsPerUser: evict-oldest refuses the least recently seen; reject fails the login with 403', async () => {
    const evict = revocable({ maxSessionsPerUser: 2 });
    const jars = [new Jar(), new Jar(), new Jar()];
    for (const jar of jars) {
      await run(evict.m, jar, (s) => s.login('alice'));
      evict.clock.advance(1000);
    }
    const users = [];
    for (const jar of jars) users.push((await run(evict.m, jar, (s) => s.meta())).result.userId);
    expect(users).toEqual([null, 'alice', 'alice']);
    expect(evict.m.events).toContainEqual(
      expect.objectContaining({ type: 'evict', userId: 'alice' }),
    );

    const reject = revocable({ maxSessionsPerUser: 1, sessionLimit: 'reject' });
    await run(reject.m, new Jar(), (s) => s.login('alice'));
    const scope = reject.m.begin({});
    scope.session.login('alice');
    const error = await scope.end().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_LIMIT')).toBe(true);
    expect((error as { status: number }).status).toBe(403);
  });

  it('maxSessionsPerUser reject holds under 20 parallel logins: exactly the limit gets in', async () => {
    // Jitter interleaves the logins' reads and compare-and-sets on the user record.
    const { m } = revocable({ maxSessionsPerUser: 3, sessionLimit: 'reject' }, 5);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        run(m, new Jar(), (s) => s.login('alice')).then(
          () => 'in',
          (e: unknown) => (isSessionError(e, 'ERR_SESSION_LIMIT') ? 'limited' : e),
        ),
      ),
    );
    expect(results.filter((r) => r === 'in')).toHaveLength(3);
    expect(results.filter((r) => r === 'limited')).toHaveLength(17);
    expect(await m.listSessions('alice')).toHaveLength(3);
  });

  it('a revocation store outage fails signed-in requests closed (503); anonymous ones never notice', async () => {
    const { m, revocation } = revocable();
    const signedIn = new Jar();
    await run(m, signedIn, (s) => s.login('alice'));
    const anonymous = new Jar();
    await run(m, anonymous, (s) => s.set('a', 1));
    revocation.failing.add('get');
    const error = await run(m, signedIn, (s) => s.all()).catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error as { status: number }).status).toBe(503);
    expect((await run(m, anonymous, (s) => s.all())).result).toEqual({ a: 1 });
  });

  it('a session refused by the fingerprint policy destroy is denylisted', async () => {
    const { m } = revocable({ fingerprint: { userAgent: true, policy: 'destroy' } });
    const jar = new Jar();
    await run(m, jar, (s) => s.login('alice'), { userAgent: 'A' });
    const copy = jar.clone();
    await run(m, jar, (s) => s.all(), { userAgent: 'B' });
    expect((await run(m, copy, (s) => s.meta(), { userAgent: 'A' })).result.userId).toBeNull();
  });
});
