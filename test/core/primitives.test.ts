import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from '../../src/core/codec.js';
import { readCookie, resolveCookieOptions, serializeCookie } from '../../src/core/cookie.js';
import {
  createKeyRing,
  generateSecret,
  generateSessionId,
  hashSessionId,
  isSessionId,
  timingSafeEqualString,
} from '../../src/index.js';

const limits = { maxBytes: 4096, maxDepth: 8 };
const meta = {
  createdAt: 1,
  lastSeenAt: 1,
  absoluteExpiresAt: 2,
  userId: null,
  ip: null,
  userAgent: null,
  persistent: false,
  csrf: null,
};

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
  const secure = resolveCookieOptions();
  const dev = resolveCookieOptions({ secure: false });

  it('has secure defaults', () => {
    expect(secure).toMatchObject({
      name: '__Host-sid',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
    });
    expect(serializeCookie(secure, 'abc', undefined, 0)).toBe(
      '__Host-sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('caps Max-Age at 400 days and expires with Max-Age=0', () => {
    expect(serializeCookie(dev, 'v', 10 ** 12, 0)).toContain('Max-Age=34560000');
    expect(serializeCookie(dev, '', 0, 0)).toBe(
      'sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
  });

  it('refuses values that could inject headers and cookies above 4096 bytes', () => {
    for (const bad of ['a;b', 'a\r\nSet-Cookie: x=1', 'a b', 'a,b', 'é']) {
      expect(() => serializeCookie(dev, bad, undefined, 0)).toThrow(TypeError);
    }
    expect(() => serializeCookie(dev, 'a'.repeat(4100), undefined, 0)).toThrow(
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
});
