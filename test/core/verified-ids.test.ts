/**
 * The memo of verified session cookies (`src/core/verified-ids.ts`): the memo on its own (what it
 * keeps, how it compares, its bound), and a manager using it — a cookie presented again is still
 * checked for what it is (a forged signature on a remembered id, a value signed by an older
 * secret, another manager's key ring), and the session it names is read every time.
 */

import { describe, expect, it } from 'vitest';
import { VerifiedIds } from '../../src/core/verified-ids.js';
import { generateSecret } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request, SECRET } from './helpers.js';

const id = (c: string): string => c.repeat(43);
const value = (i: string, s: string): string => `${i}.${s}`;

describe('VerifiedIds', () => {
  it('finds a remembered value, with its id, staleness and store key', () => {
    const memo = new VerifiedIds(10);
    const v = value(id('a'), id('s'));
    expect(memo.find(v)).toBeUndefined();
    memo.remember(v, id('a'), true, 'key-a');
    expect(memo.find(v)).toEqual({ id: id('a'), signature: id('s'), stale: true, key: 'key-a' });
  });

  it('refuses the remembered id under any other signature, however close', () => {
    const memo = new VerifiedIds(10);
    memo.remember(value(id('a'), id('s')), id('a'), false, 'key-a');
    for (let i = 0; i < 43; i++) {
      const near = `${id('s').slice(0, i)}t${id('s').slice(i + 1)}`;
      expect(memo.find(value(id('a'), near))).toBeUndefined();
    }
    expect(memo.find(value(id('b'), id('s')))).toBeUndefined();
  });

  it('refuses anything not shaped like a cookie value', () => {
    const memo = new VerifiedIds(10);
    const v = value(id('a'), id('s'));
    memo.remember(v, id('a'), false, 'key-a');
    expect(memo.find(`${v}x`)).toBeUndefined();
    expect(memo.find(v.slice(0, -1))).toBeUndefined();
    expect(memo.find(`${id('a')}x${id('s')}`)).toBeUndefined();
    expect(memo.find('')).toBeUndefined();
  });

  it('takes ids of another length where the caller says the id ends (the facade’s genid ids)', () => {
    const memo = new VerifiedIds(10);
    const short = value('a'.repeat(32), id('s'));
    memo.remember(short, 'a'.repeat(32), false, 'key-a');
    expect(memo.find(short, 32)).toMatchObject({ id: 'a'.repeat(32), key: 'key-a' });
    expect(memo.find(short)).toBeUndefined(); // no dot where a 43-character id ends
    expect(memo.find(short, 31)).toBeUndefined();
    expect(memo.find(short, -1)).toBeUndefined();
    expect(memo.find(`${short}A`, 32)).toBeUndefined(); // a longer signature
    expect(memo.find(short.slice(0, -1), 32)).toBeUndefined(); // a shorter one
    expect(memo.find(value('a'.repeat(32), `${id('s').slice(0, -1)}t`), 32)).toBeUndefined();
  });

  it('keeps copies, not slices of the value it was given', () => {
    const memo = new VerifiedIds(10);
    const header = `other=1; sid=${value(id('a'), id('s'))}; ${'x'.repeat(5000)}`;
    const v = header.slice(header.indexOf('sid=') + 4, header.indexOf(';', 12));
    const entry = memo.remember(v, v.slice(0, 43), false, 'key-a');
    expect(entry.id).toBe(id('a'));
    expect(entry.signature).toBe(id('s'));
    expect(memo.find(v)).toBe(entry);
  });

  it('is bounded: two generations, the older dropped whole; a hit moves an entry back', () => {
    const memo = new VerifiedIds(4);
    const values = 'abcdef'.split('').map((c) => value(id(c), id('s')));
    const remember = (i: number): unknown =>
      memo.remember(values[i]!, id('abcdef'[i]!), false, `k${i}`);
    remember(0);
    remember(1); // young: a, b
    remember(2); // old: a, b; young: c
    expect(memo.size).toBe(3);
    expect(memo.find(values[0]!)).toBeDefined(); // a moves back to young: c, a
    remember(3); // young full → old: c, a; young: d
    expect(memo.size).toBe(3);
    expect(memo.find(values[1]!)).toBeUndefined(); // b was dropped with its generation
    expect(memo.find(values[0]!)?.key).toBe('k0');
    remember(4);
    remember(5);
    expect(memo.size).toBeLessThanOrEqual(4);
  });

  it('remembering a value again replaces its entry (no duplicate across generations)', () => {
    const memo = new VerifiedIds(4);
    const v = value(id('a'), id('s'));
    memo.remember(v, id('a'), false, 'k1');
    memo.remember(value(id('b'), id('s')), id('b'), false, 'kb');
    memo.remember(value(id('c'), id('s')), id('c'), false, 'kc'); // a, b now old
    memo.remember(v, id('a'), true, 'k2');
    expect(memo.size).toBe(3);
    expect(memo.find(v)).toMatchObject({ stale: true, key: 'k2' });
  });
});

describe('a manager with the memo', () => {
  it('serves a session through the same cookie request after request, reading it each time', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    for (let i = 1; i <= 3; i++) {
      const r = await request(m, cookie, (s) => s.update('n', (n) => Number(n) + 1));
      expect(r.result).toBe(i);
    }
    // The record is still what decides: once another process destroyed it, the remembered cookie
    // finds nothing.
    await request(manager({ store }), cookie, (s) => s.destroy());
    const after = await request(m, cookie, (s) => s.get('n'));
    expect(after.result).toBeUndefined();
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'unknown-id' }));
  });

  it('refuses a remembered id under a forged signature, with an invalid-cookie event', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('secret', 'mine'));
    await request(m, cookie, (s) => s.get('secret')); // remembered now
    const [name, signed] = cookie!.split('=') as [string, string];
    const last = signed.at(-1) === 'A' ? 'B' : 'A';
    const forged = `${name}=${signed.slice(0, -1)}${last}`;
    const r = await request(m, forged, (s) => s.get('secret'));
    expect(r.result).toBeUndefined();
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'signature' }),
    );
  });

  it('re-issues a cookie signed under an older secret on every request that presents it', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const old = manager({ store });
    const { cookie } = await request(old, undefined, (s) => s.set('a', 1));
    const rotated = manager({ store, secrets: [generateSecret(), SECRET] });
    for (let i = 0; i < 2; i++) {
      const r = await request(rotated, cookie, (s) => s.get('a'));
      expect(r.result).toBe(1);
      expect(r.cookie).not.toBe(cookie); // re-signed under the primary, both times
    }
  });

  it('is one manager’s: another key ring sharing the store does not accept its cookies', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const a = manager({ store });
    const { cookie } = await request(a, undefined, (s) => s.set('a', 1));
    expect((await request(a, cookie, (s) => s.get('a'))).result).toBe(1);
    const b = manager({ store, secrets: [generateSecret()] });
    expect((await request(b, cookie, (s) => s.get('a'))).result).toBeUndefined();
    expect(b.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'signature' }),
    );
  });
});
