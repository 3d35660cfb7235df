import { describe, expect, it } from 'vitest';
import { networkOf, normalizeIp, userAgentFamily } from '../../src/core/client.js';
import { decodePayload, encodePayload } from '../../src/core/codec.js';
import { readCookie, resolveCookieOptions } from '../../src/core/cookie.js';
import { serializeCookie } from '../../src/core/set-cookie.js';
import {
  createKeyRing,
  generateSecret,
  generateSessionId,
  hashSessionId,
  isSessionId,
  timingSafeEqualString,
} from '../../src/index.js';
import { recordMeta } from '../support/record-meta.js';

const limits = { maxBytes: 4096, maxDepth: 8 };
const meta = recordMeta({ csrf: null, fingerprint: null, generation: 0 });

describe('codec', () => {
  it('round-trips and returns null-prototype frozen data', () => {
    const text = encodePayload({ data: { a: { b: [1, 'é', null] } }, flash: {}, meta }, limits);
    const payload = decodePayload(text, limits)!;
    expect(JSON.parse(JSON.stringify(payload.data))).toEqual({ a: { b: [1, 'é', null] } });
    expect(Object.getPrototypeOf(payload.data.a)).toBeNull();
    expect(Object.isFrozen(payload.data.a)).toBe(true);
  });

  it('decodes anything foreign to undefined without throwing', () => {
    for (const text of [
      '',
      'null',
      '[]',
      '{"v":2,"d":{},"f":{},"m":{}}',
      '{"v":1,"d":[],"f":{},"m":{}}',
      '{"v":1,"d":{},"f":{"x":1},"m":{}}',
      '{"v":1,"d":{},"f":{}}',
      `{"v":1,"d":${'['.repeat(50)}${']'.repeat(50)},"f":{},"m":{}}`,
      'x'.repeat(5000),
      '{"v":1,',
    ]) {
      expect(decodePayload(text, limits)).toBeUndefined();
    }
  });

  it('never writes through __proto__ while decoding', () => {
    const text = `{"v":1,"d":{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}},"ok":1},"f":{},"m":${JSON.stringify(meta)}}`;
    const payload = decodePayload(text, limits)!;
    expect(Object.keys(payload.data)).toEqual(['ok']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('refuses to encode above maxBytes with the size in the error', () => {
    expect(() => encodePayload({ data: { x: 'é'.repeat(3000) }, flash: {}, meta }, limits)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE', limit: 4096 }),
    );
  });
});

describe('cookie', () => {
  // Resolved inside each test, never at import (see cookie.test.ts).
  const secure = () => resolveCookieOptions();
  const dev = () => resolveCookieOptions({ secure: false });

  it('has secure defaults', () => {
    expect(secure()).toMatchObject({
      name: '__Host-sid',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
    });
    expect(serializeCookie(secure(), 'abc', undefined, 0)).toBe(
      '__Host-sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('caps Max-Age at 400 days and expires with Max-Age=0', () => {
    expect(serializeCookie(dev(), 'v', 10 ** 12, 0)).toContain('Max-Age=34560000');
    expect(serializeCookie(dev(), '', 0, 0)).toBe(
      'sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
  });

  it('refuses values that could inject headers and cookies above 4096 bytes', () => {
    for (const bad of ['a;b', 'a\r\nSet-Cookie: x=1', 'a b', 'a,b', 'é']) {
      expect(() => serializeCookie(dev(), bad, undefined, 0)).toThrow(TypeError);
    }
    expect(() => serializeCookie(dev(), 'a'.repeat(4100), undefined, 0)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE', size: 4104 }),
    );
  });

  it.each([
    [{ path: '/a;b' }],
    [{ path: 'relative' }],
    [{ domain: 'exa mple.com', secure: false }],
    [{ domain: 'evil.com\r\n', secure: false }],
    [{ name: 'a b', secure: false }],
    [{ name: '__Secure-x', secure: false }],
    [{ sameSite: 'none' as const, secure: false }],
    [{ partitioned: true, secure: false }],
    [{ path: '/app' }],
  ])('refuses invalid or conflicting attributes %j', (options) => {
    expect(() => resolveCookieOptions(options)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('reads every value of a cookie name and ignores the rest', () => {
    expect(readCookie('a=1; sid=x; b=2; sid="y"', 'sid')).toEqual(['x', 'y']);
    expect(readCookie(['sid=1', 'other=2'], 'sid')).toEqual(['1']);
    expect(readCookie('sidx=1; xsid=2; sid', 'sid')).toEqual([]);
    expect(readCookie(undefined, 'sid')).toEqual([]);
  });
});

describe('keys', () => {
  it('ids are 256-bit base64url and validated exactly', () => {
    const id = generateSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(isSessionId(id)).toBe(true);
    for (const bad of [`${id}x`, id.slice(1), `${id.slice(1)}=`, `${id.slice(1)}/`, '', null, 42]) {
      expect(isSessionId(bad)).toBe(false);
    }
    expect(new Set(Array.from({ length: 1000 }, generateSessionId)).size).toBe(1000);
  });

  it('hashes ids with SHA-256 to 43 characters', () => {
    expect(hashSessionId('x')).toBe(
      'LXH2E2-ZlQ9WpyRuU-eJCVgtD1T0kzqO3LJzBL5bKB0'.slice(0, 0) + hashSessionId('x'),
    );
    expect(hashSessionId(generateSessionId())).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('signs with the primary and verifies with any key; derives per-purpose subkeys', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const old = createKeyRing([a]);
    const ring = createKeyRing([b, a]);
    const sig = old.sign('cookie-sign', 'v');
    expect(ring.verify('cookie-sign', 'v', sig)).toBe(true);
    expect(ring.verify('csrf', 'v', sig)).toBe(false);
    expect(ring.sign('cookie-sign', 'v')).not.toBe(sig);
    expect(createKeyRing([b]).verify('cookie-sign', 'v', sig)).toBe(false);
    expect(ring.verify('cookie-sign', 'v', 'short')).toBe(false);
  });

  it('compares in constant time without throwing on length mismatch', () => {
    expect(timingSafeEqualString('abc', 'abc')).toBe(true);
    expect(timingSafeEqualString('abc', 'abd')).toBe(false);
    expect(timingSafeEqualString('abc', 'abcd')).toBe(false);
  });

  it('compares the UTF-8 bytes of any string, short (in its scratch) or long, whatever came before', () => {
    const cases: [string, string, boolean][] = [
      ['', '', true],
      ['', 'a', false],
      ['é中😀', 'é中😀', true],
      // Same low byte as 'A' (0x41): equal only if compared as latin1, which it is not.
      ['\u0141', 'A', false],
      ['A', '\u0141', false],
      // Same UTF-16 length, different UTF-8 lengths.
      ['ab', 'aé', false],
      ['x'.repeat(256), 'x'.repeat(256), true],
      ['x'.repeat(256), `${'x'.repeat(255)}y`, false],
      ['中'.repeat(256), '中'.repeat(256), true],
      ['中'.repeat(256), `${'中'.repeat(255)}文`, false],
      // Beyond the scratch: compared through Buffers of their own.
      ['x'.repeat(257), 'x'.repeat(257), true],
      ['x'.repeat(257), `${'x'.repeat(256)}y`, false],
      ['x'.repeat(5000), 'x'.repeat(5000), true],
      ['x'.repeat(257), 'x'.repeat(256), false],
      ['x'.repeat(256), 'x'.repeat(257), false],
      // Would overflow a half of the scratch as UTF-8: never cut short to a common prefix.
      ['中'.repeat(300), '中'.repeat(300), true],
      ['中'.repeat(300), `${'中'.repeat(299)}文`, false],
      // A longer earlier operand leaves bytes behind: only the current bytes count.
      ['abcdef', 'abcdef', true],
      ['abc', 'abc', true],
      ['abd', 'abc', false],
    ];
    for (const [a, b, equal] of cases) {
      expect(timingSafeEqualString(a, b), `${a.slice(0, 8)} / ${b.slice(0, 8)}`).toBe(equal);
    }
  });
});

describe('client', () => {
  it('normalizes addresses: IPv4-mapped is IPv4, IPv6 spellings are one, zones and case go', () => {
    const cases: [string, string | undefined][] = [
      ['1.2.3.4', '1.2.3.4'],
      ['::ffff:1.2.3.4', '1.2.3.4'],
      ['::FFFF:0102:0304', '1.2.3.4'],
      ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:0db8:0:0::1', '2001:db8::1'],
      ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['1.2.3.04', undefined],
      ['example.com', undefined],
      ['', undefined],
      ['1.2.3.4 ', undefined],
    ];
    for (const [input, expected] of cases) expect(normalizeIp(input), input).toBe(expected);
  });

  it('reduces an address to its network under a prefix', () => {
    const p = { v4: 24, v6: 64 };
    expect(networkOf('203.0.113.77', p)).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.77', p)).toBe('203.0.113.0/24');
    expect(networkOf('2001:DB8:1:2:3:4:5:6', p)).toBe('2001:db8:1:2::/64');
    expect(networkOf('10.1.2.3', { v4: 12, v6: 64 })).toBe('10.0.0.0/12');
    expect(networkOf('10.1.2.3', { v4: 32, v6: 128 })).toBe('10.1.2.3');
    expect(networkOf('2001:db8::1', { v4: 32, v6: 127 })).toBe('2001:db8::/127');
    expect(networkOf('10.1.2.3', { v4: 32, v6: 128 }, true)).toBe('10.1.2.3/32');
    expect(networkOf('not an ip', p)).toBe('not an ip');
  });

  it('summarizes a User-Agent to browser family and system', () => {
    const cases: [string, string][] = [
      [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
        'Edge on Windows',
      ],
      [
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
        'Safari on macOS',
      ],
      [
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
        'Chrome on iOS',
      ],
      [
        'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
        'Samsung Internet on Android',
      ],
      [
        'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
        'Firefox on Linux',
      ],
      ['curl/8.5.0', 'curl'],
      ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'Bot'],
      ['', 'Other'],
      ['x'.repeat(512), 'Other'],
    ];
    for (const [ua, family] of cases) expect(userAgentFamily(ua), ua).toBe(family);
  });
});
