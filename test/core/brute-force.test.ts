/**
 * The brute-force signal (issue 11, item 9): failed guesses at a session — a forged signature, a
 * signed id without a record — carry the client's address in their events, and a bounded
 * per-address counter raises one `brute-force` event per address and window once the threshold
 * is reached. Driven through the manager's neutral scope API over a real memory store; the
 * counter's table is also flooded directly to prove its memory bound.
 */

import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { signCookieValue } from '../../src/core/cookie-value.js';
import { EVENT_CHANNEL } from '../../src/core/diagnostics.js';
import { clientAddress, GuessCounter } from '../../src/core/guesses.js';
import { createKeyRing, generateSessionId } from '../../src/core/keys.js';
import { isSessionError, type SessionEvent } from '../../src/index.js';
import { clock, manager, SECRET, type TestManager } from './helpers.js';

/** A cookie signed under another secret: well formed, forged. */
function forged(m: TestManager): string {
  const ring = createKeyRing(randomBytes(32).toString('base64url'));
  return `${m.cookieName}=${signCookieValue(ring, generateSessionId())}`;
}

/** A cookie genuinely signed by the manager's secret for an id that has no record. */
function unknown(m: TestManager): string {
  return `${m.cookieName}=${signCookieValue(createKeyRing([SECRET]), generateSessionId())}`;
}

/** One request that reads its session with `cookie`, from `ip`. */
async function visit(m: TestManager, cookie: string, ip: string | undefined): Promise<void> {
  const scope = m.begin({ cookie, ip, userAgent: 'vitest' });
  expect(await scope.session.all()).toEqual({});
  const out = await scope.end();
  expect(out.setCookie).toEqual([]);
}

function signals(m: TestManager): Extract<SessionEvent, { type: 'brute-force' }>[] {
  return m.events.filter(
    (e): e is Extract<SessionEvent, { type: 'brute-force' }> => e.type === 'brute-force',
  );
}

describe('guess events carry the client address', () => {
  it('a forged signature and an unknown id report the address the adapter resolved', async () => {
    const m = manager();
    await visit(m, forged(m), '203.0.113.7');
    await visit(m, unknown(m), '2001:db8::7');
    expect(m.events).toContainEqual({
      type: 'invalid-cookie',
      reason: 'signature',
      ip: '203.0.113.7',
    });
    expect(m.events).toContainEqual({
      type: 'unknown-id',
      handle: expect.stringMatching(/^[\w-]{12}$/),
      ip: '2001:db8::7',
    });
    // A malformed value is reported with the address too (it is not counted as a guess).
    await visit(m, `${m.cookieName}=garbage`, '203.0.113.8');
    expect(m.events).toContainEqual({
      type: 'invalid-cookie',
      reason: 'malformed',
      ip: '203.0.113.8',
    });
  });

  it('resolves a lazy address only when a guess is reported, and says null without one', async () => {
    const m = manager();
    let resolved = 0;
    const ip = () => {
      resolved += 1;
      return '198.51.100.4';
    };
    const good = m.begin({ ip });
    good.session.set('a', 1);
    const cookie = (await good.end()).setCookie[0]!.split(';')[0]!;
    const read = m.begin({ cookie, ip });
    expect(await read.session.get('a')).toBe(1);
    await read.end();
    resolved = 0; // creation recorded the address; a healthy read must not ask for it
    const again = m.begin({ cookie, ip });
    expect(await again.session.get('a')).toBe(1);
    await again.end();
    expect(resolved).toBe(0);
    const guess = m.begin({ cookie: forged(m), ip });
    await guess.session.all();
    await guess.end();
    expect(resolved).toBe(1);
    await visit(m, forged(m), undefined);
    expect(m.events.at(-1)).toEqual({ type: 'invalid-cookie', reason: 'signature', ip: null });
  });
});

describe('brute-force counter', () => {
  it('raises one brute-force event per address and window once the threshold is reached', async () => {
    const time = clock();
    const m = manager({ now: time.now, bruteForce: { threshold: 5, window: 60_000 } });
    for (let i = 0; i < 4; i++) await visit(m, i % 2 === 0 ? forged(m) : unknown(m), '192.0.2.1');
    expect(signals(m)).toEqual([]);
    await visit(m, forged(m), '192.0.2.1');
    expect(signals(m)).toEqual([
      { type: 'brute-force', ip: '192.0.2.1', guesses: 5, window: 60_000 },
    ]);
    for (let i = 0; i < 20; i++) await visit(m, forged(m), '192.0.2.1');
    // Another address is counted apart, and a client without an address is not counted.
    for (let i = 0; i < 4; i++) await visit(m, forged(m), '192.0.2.2');
    for (let i = 0; i < 20; i++) await visit(m, forged(m), undefined);
    expect(signals(m)).toHaveLength(1);
    // A new window starts a new count.
    time.advance(60_000);
    for (let i = 0; i < 4; i++) await visit(m, unknown(m), '192.0.2.1');
    expect(signals(m)).toHaveLength(1);
    await visit(m, unknown(m), '192.0.2.1');
    expect(signals(m)).toHaveLength(2);
    expect(signals(m)[1]).toEqual({
      type: 'brute-force',
      ip: '192.0.2.1',
      guesses: 5,
      window: 60_000,
    });
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as IPv4', async () => {
    const m = manager({ bruteForce: { threshold: 4 } });
    for (const ip of ['2001:db8:1:2::a', '2001:DB8:1:2::B', '2001:0db8:0001:0002:0:0:0:c']) {
      await visit(m, forged(m), ip);
    }
    expect(signals(m)).toEqual([]);
    await visit(m, forged(m), '2001:db8:1:2:ffff::1%eth0');
    expect(signals(m)).toEqual([
      { type: 'brute-force', ip: '2001:db8:1:2::/64', guesses: 4, window: 60_000 },
    ]);
    for (const ip of ['::ffff:198.51.100.9', '198.51.100.9', '::FFFF:c633:6409']) {
      await visit(m, unknown(m), ip);
    }
    await visit(m, forged(m), '2001:db8:1:3::a'); // another /64
    expect(signals(m)).toHaveLength(1);
    await visit(m, unknown(m), '198.51.100.9');
    expect(signals(m).at(-1)).toEqual({
      type: 'brute-force',
      ip: '198.51.100.9',
      guesses: 4,
      window: 60_000,
    });
  });

  it('is on by default: 20 guesses within a minute', async () => {
    const m = manager();
    for (let i = 0; i < 19; i++) await visit(m, forged(m), '192.0.2.30');
    expect(signals(m)).toEqual([]);
    await visit(m, forged(m), '192.0.2.30');
    expect(signals(m)).toEqual([
      { type: 'brute-force', ip: '192.0.2.30', guesses: 20, window: 60_000 },
    ]);
  });

  it('bruteForce: false turns the counter off; the guess events keep their address', async () => {
    const m = manager({ bruteForce: false });
    for (let i = 0; i < 50; i++) await visit(m, forged(m), '192.0.2.40');
    expect(signals(m)).toEqual([]);
    expect(
      m.events.filter((e) => e.type === 'invalid-cookie' && e.ip === '192.0.2.40'),
    ).toHaveLength(50);
  });

  it('forgets an address unseen while `capacity` others arrived, keeps one that goes on', async () => {
    const m = manager({ bruteForce: { threshold: 3, capacity: 10 } });
    await visit(m, forged(m), '192.0.2.50');
    await visit(m, forged(m), '192.0.2.50');
    for (let i = 0; i < 10; i++) await visit(m, forged(m), `198.51.100.${i}`);
    await visit(m, forged(m), '192.0.2.50'); // its first two were forgotten: count 1 again
    expect(signals(m)).toEqual([]);
    // An address that keeps guessing stays in the table through a flood of others.
    await visit(m, forged(m), '192.0.2.50');
    for (let i = 0; i < 30; i++) {
      await visit(m, forged(m), `203.0.113.${i}`);
      if (i === 5) await visit(m, forged(m), '192.0.2.50');
    }
    expect(signals(m)).toEqual([
      { type: 'brute-force', ip: '192.0.2.50', guesses: 3, window: 60_000 },
    ]);
  });

  it('publishes brute-force on the sessionkit:event channel with the store name', async () => {
    const seen: unknown[] = [];
    const record = (message: unknown) => seen.push(message);
    subscribe(EVENT_CHANNEL, record);
    try {
      const m = manager({ bruteForce: { threshold: 2 } });
      await visit(m, forged(m), '192.0.2.60');
      await visit(m, unknown(m), '192.0.2.60');
    } finally {
      unsubscribe(EVENT_CHANNEL, record);
    }
    expect(seen).toContainEqual({
      store: 'memory',
      type: 'invalid-cookie',
      reason: 'signature',
      ip: '192.0.2.60',
    });
    expect(seen).toContainEqual(
      expect.objectContaining({ store: 'memory', type: 'unknown-id', ip: '192.0.2.60' }),
    );
    expect(seen).toContainEqual({
      store: 'memory',
      type: 'brute-force',
      ip: '192.0.2.60',
      guesses: 2,
      window: 60_000,
    });
  });

  it.each([
    ['a string', 'on'],
    ['threshold 0', { threshold: 0 }],
    ['a fractional threshold', { threshold: 2.5 }],
    ['window 0', { window: 0 }],
    ['an infinite window', { window: Number.POSITIVE_INFINITY }],
    ['capacity 1', { capacity: 1 }],
    ['capacity above 1 000 000', { capacity: 1_000_001 }],
  ])('refuses bruteForce with %s at construction', (_label, bruteForce) => {
    let thrown: unknown;
    try {
      manager({ bruteForce: bruteForce as never });
    } catch (error) {
      thrown = error;
    }
    expect(isSessionError(thrown, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((thrown as Error).message).toContain('bruteForce');
  });
});

describe('GuessCounter memory bound', () => {
  it('a flood of 100 000 distinct addresses keeps the table at its capacity', () => {
    const counter = new GuessCounter({ threshold: 20, window: 60_000, capacity: 10_000 });
    let largest = 0;
    let raised = 0;
    for (let i = 0; i < 100_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      if (counter.add(clientAddress(ip), 1_000 + i)) raised += 1;
      largest = Math.max(largest, counter.size);
    }
    expect(counter.size).toBe(10_000);
    expect(largest).toBe(10_000);
    expect(raised).toBe(0);
    // The same through distinct IPv6 addresses of distinct /64s.
    for (let i = 0; i < 100_000; i++)
      counter.add(clientAddress(`2001:db8:${i.toString(16)}::1`), 0);
    expect(counter.size).toBe(10_000);
  });

  it('clientAddress: IPv4 as is, IPv4-mapped as IPv4, IPv6 as its /64, anything else bounded', () => {
    expect(clientAddress('192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddress('::1')).toBe('::/64');
    expect(clientAddress('2001:db8::')).toBe('2001:db8::/64');
    expect(clientAddress('fe80::1%lo0')).toBe('fe80::/64');
    expect(clientAddress('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff')).toBe('2001:db8:aaaa:bbbb::/64');
    expect(clientAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b::/64');
    expect(clientAddress('unknown')).toBe('unknown');
    expect(clientAddress('x'.repeat(500))).toHaveLength(64);
  });
});
