/**
 * `Set-Cookie` output and attribute validation pinned exactly (issue 16): every attribute the
 * serializer writes is asserted as the whole header, and every refusal of `resolveCookieOptions`
 * is asserted with the option it names — so deleting or loosening one rule fails a test here.
 * Option types and the two acknowledged weakenings: cookie-options.test.ts.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CookieOptions,
  forEachCookie,
  MAX_COOKIE_AGE_MS,
  MAX_COOKIE_BYTES,
  readCookie,
  resolveCookieOptions,
} from '../../src/core/cookie.js';
import { serializeCookie } from '../../src/core/set-cookie.js';

/** 2023-11-14T22:13:20Z: a fixed "now" so Expires is an exact string. */
const NOW = 1_700_000_000_000;
// Resolved inside each test, never at import: a call outside a test makes every mutant on its
// path a "static" one that the mutation run has to test against the whole suite.
const dev = () => resolveCookieOptions({ secure: false });
const secure = () => resolveCookieOptions();

/** The `ConfigError` `resolveCookieOptions(options)` throws (fails the test when none is thrown). */
function refusal(options: unknown): { code: string; message: string } {
  try {
    resolveCookieOptions(options as CookieOptions);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('serializeCookie: lifetime', () => {
  it('writes Max-Age in seconds and Expires at now + maxAge for a non-zero maxAge', () => {
    expect(serializeCookie(dev(), 'v', 3_600_000, NOW)).toBe(
      'sid=v; Path=/; Max-Age=3600; Expires=Tue, 14 Nov 2023 23:13:20 GMT; HttpOnly; SameSite=Lax',
    );
    // Max-Age rounds down to whole seconds; Expires keeps the exact instant (to the second).
    expect(serializeCookie(dev(), 'v', 1500, NOW)).toBe(
      'sid=v; Path=/; Max-Age=1; Expires=Tue, 14 Nov 2023 22:13:21 GMT; HttpOnly; SameSite=Lax',
    );
  });

  it('caps both Max-Age (Max-Age=34560000; as a whole attribute) and Expires at 400 days', () => {
    expect(MAX_COOKIE_AGE_MS).toBe(34_560_000_000);
    const capped =
      'sid=v; Path=/; Max-Age=34560000; Expires=Wed, 18 Dec 2024 22:13:20 GMT; HttpOnly; SameSite=Lax';
    expect(serializeCookie(dev(), 'v', 10 ** 12, NOW)).toBe(capped);
    expect(serializeCookie(dev(), 'v', MAX_COOKIE_AGE_MS + 1, NOW)).toBe(capped);
    expect(serializeCookie(dev(), 'v', MAX_COOKIE_AGE_MS, NOW)).toBe(capped);
    expect(serializeCookie(dev(), 'v', MAX_COOKIE_AGE_MS - 1000, NOW)).toContain(
      '; Max-Age=34559999; ',
    );
  });

  it('expires at the epoch for maxAge 0 or below, and omits both for a browser-session cookie', () => {
    const expired =
      'sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax';
    expect(serializeCookie(dev(), '', 0, NOW)).toBe(expired);
    expect(serializeCookie(dev(), '', -5000, NOW)).toBe(expired);
    expect(serializeCookie(dev(), 'v', undefined, NOW)).toBe(
      'sid=v; Path=/; HttpOnly; SameSite=Lax',
    );
  });
});

describe('serializeCookie: one options object over many responses', () => {
  /** The line as the attributes are defined, written out afresh for every call. */
  function expected(
    options: ReturnType<typeof resolveCookieOptions>,
    value: string,
    maxAge: number | undefined,
    now: number,
  ): string {
    const parts = [`${options.name}=${value}`, `Path=${options.path}`];
    if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
    if (maxAge !== undefined) {
      const ms = Math.max(0, Math.min(maxAge, MAX_COOKIE_AGE_MS));
      parts.push(`Max-Age=${Math.floor(ms / 1000)}`);
      parts.push(`Expires=${new Date(ms === 0 ? 0 : now + ms).toUTCString()}`);
    }
    if (options.httpOnly) parts.push('HttpOnly');
    if (options.secure) parts.push('Secure');
    parts.push(`SameSite=${{ lax: 'Lax', strict: 'Strict', none: 'None' }[options.sameSite]}`);
    if (options.partitioned) parts.push('Partitioned');
    return parts.join('; ');
  }

  it('writes each line exactly as a fresh serialization would, whatever came before', () => {
    const lifetimes = fc.oneof(
      fc.constantFrom(undefined, 0, -5, 999, 1000, 1500, 3_600_000, 10 ** 12),
      fc.integer({ min: -2000, max: MAX_COOKIE_AGE_MS + 5000 }),
    );
    const calls = fc.array(
      fc.record({
        step: fc.oneof(fc.constant(0), fc.integer({ min: -1500, max: 2500 })),
        maxAge: lifetimes,
        value: fc.constantFrom('v', 'abc.DEF_-1', ''),
      }),
      { minLength: 1, maxLength: 40 },
    );
    const shapes = fc.constantFrom<CookieOptions[]>(
      [{ secure: false }, { secure: false, path: '/app' }],
      [{}, { domain: 'example.com', name: 'id', sameSite: 'strict' }],
      [
        { partitioned: true, sameSite: 'none' },
        { secure: false, httpOnly: false, dangerouslyAllowScriptAccess: true },
      ],
    );
    fc.assert(
      fc.property(shapes, calls, fc.integer({ min: 0, max: 999 }), (shape, list, start) => {
        const options = shape.map((o) => resolveCookieOptions(o));
        let now = NOW + start;
        list.forEach(({ step, maxAge, value }, i) => {
          now += step;
          const o = options[i % options.length]!;
          expect(serializeCookie(o, value, maxAge, now)).toBe(expected(o, value, maxAge, now));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('moves Expires on at the next second, with the same Max-Age', () => {
    const o = dev();
    const at = (now: number) => serializeCookie(o, 'v', 1000, now);
    expect(at(NOW)).toContain('Expires=Tue, 14 Nov 2023 22:13:21 GMT');
    expect(at(NOW + 999)).toContain('Expires=Tue, 14 Nov 2023 22:13:21 GMT');
    expect(at(NOW + 1000)).toContain('Expires=Tue, 14 Nov 2023 22:13:22 GMT');
    expect(at(NOW + 999)).toContain('Expires=Tue, 14 Nov 2023 22:13:21 GMT');
    expect(serializeCookie(o, 'v', 2000, NOW + 999)).toBe(
      'sid=v; Path=/; Max-Age=2; Expires=Tue, 14 Nov 2023 22:13:22 GMT; HttpOnly; SameSite=Lax',
    );
    expect(serializeCookie(o, 'v', undefined, NOW)).toBe('sid=v; Path=/; HttpOnly; SameSite=Lax');
    expect(serializeCookie(o, 'v', 0, NOW)).toContain(
      'Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });
});

describe('serializeCookie: attributes', () => {
  it('writes SameSite=Strict and SameSite=None exactly', () => {
    const strict = resolveCookieOptions({ sameSite: 'strict' });
    expect(strict.sameSite).toBe('strict');
    expect(serializeCookie(strict, 'v', undefined, NOW)).toBe(
      '__Host-sid=v; Path=/; HttpOnly; Secure; SameSite=Strict',
    );
    const none = resolveCookieOptions({ sameSite: 'none' });
    expect(serializeCookie(none, 'v', undefined, NOW)).toBe(
      '__Host-sid=v; Path=/; HttpOnly; Secure; SameSite=None',
    );
    expect(serializeCookie(secure(), 'v', undefined, NOW)).toBe(
      '__Host-sid=v; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('writes Partitioned last, after Secure, and nothing when it is off', () => {
    const chips = resolveCookieOptions({ partitioned: true, sameSite: 'none' });
    expect(chips.partitioned).toBe(true);
    expect(serializeCookie(chips, 'v', undefined, NOW)).toBe(
      '__Host-sid=v; Path=/; HttpOnly; Secure; SameSite=None; Partitioned',
    );
    expect(resolveCookieOptions({ partitioned: false }).partitioned).toBe(false);
    expect(secure().partitioned).toBe(false);
  });

  it('accepts a valid domain and serializes it after Path', () => {
    for (const domain of [
      'example.com',
      '.example.com',
      'a-b.example.co',
      'localhost',
      'x',
      'a.b.example.com',
      'example.c',
    ]) {
      const options = resolveCookieOptions({ name: 'sid', domain });
      expect(options.domain).toBe(domain);
      expect(serializeCookie(options, 'v', undefined, NOW)).toBe(
        `sid=v; Path=/; Domain=${domain}; HttpOnly; Secure; SameSite=Lax`,
      );
    }
    expect(secure().domain).toBeUndefined();
  });

  it('refuses a malformed domain, naming the option', () => {
    for (const domain of [
      '',
      '-a.example.com',
      'a-.example.com',
      'a..example.com',
      'example.com.',
      '..example.com',
      'exa_mple.com',
      'example.com; Secure',
      `${'a'.repeat(64)}.com`,
    ]) {
      const error = refusal({ name: 'sid', domain });
      expect(error.code, domain).toBe('ERR_SESSION_CONFIG');
      expect(error.message).toBe(
        'Option `cookie.domain` must be a plain host name such as "example.com", at most 253 characters.',
      );
    }
    expect(resolveCookieOptions({ name: 'sid', domain: `${'a'.repeat(63)}.com` }).domain).toBe(
      `${'a'.repeat(63)}.com`,
    );
  });

  it('writes a custom path and name with secure: false', () => {
    const options = resolveCookieOptions({ secure: false, name: 'app.sid', path: '/app' });
    expect(serializeCookie(options, 'v', undefined, NOW)).toBe(
      'app.sid=v; Path=/app; HttpOnly; SameSite=Lax',
    );
  });
});

describe('resolveCookieOptions: attribute injection', () => {
  it.each([
    '/a; Domain=evil.example',
    '/a;Secure',
    '/a\r\nSet-Cookie: x=1',
    '/a\nb',
    '/a\u0000',
    '/a\u007f',
    '/é',
    'a/b',
    '',
  ])('refuses the path %j even with secure: false (no __Host- rule to hide behind)', (path) => {
    const error = refusal({ secure: false, path });
    expect(error.code).toBe('ERR_SESSION_CONFIG');
    expect(error.message).toBe(
      'Option `cookie.path` must start with "/", contain no ";" or controls and be at most 1024 bytes.',
    );
  });

  it('accepts every printable path character except ";"', () => {
    const path = `/ !"#$%&'()*+,-./09:<=>?@AZ[\\]^_\`az{|}~`;
    expect(resolveCookieOptions({ secure: false, path }).path).toBe(path);
  });

  it.each(['a b', 'a;b', 'a=b', 'a,b', 'a\tb', '(sid)', 'sïd'])(
    'refuses the name %j, naming the option',
    (name) => {
      const error = refusal({ secure: false, name });
      expect(error.code).toBe('ERR_SESSION_CONFIG');
      expect(error.message).toBe(
        "Option `cookie.name` must be an RFC 6265 token of 1 to 1024 bytes (letters, digits and !#$%&'*+-.^_`|~).",
      );
    },
  );

  it('accepts every token character in a name', () => {
    const name = "!#$%&'*+-.^_`|~09AZaz";
    expect(resolveCookieOptions({ secure: false, name }).name).toBe(name);
  });
});

describe('resolveCookieOptions: combinations', () => {
  it('refuses an invalid sameSite with its own message', () => {
    for (const sameSite of ['Lax', 'STRICT', 'no', '']) {
      const error = refusal({ sameSite });
      expect(error.code).toBe('ERR_SESSION_CONFIG');
      expect(error.message).toBe('Option `cookie.sameSite` must be "lax", "strict" or "none".');
    }
  });

  it('a __Host- name needs Secure, Path=/ and no Domain, whatever its case', () => {
    const message =
      'A `__Host-` cookie needs `secure: true`, `path: "/"` and no `domain`. For plain-http development set `cookie: { secure: false }` (the name then defaults to "sid").';
    for (const options of [
      { path: '/app' },
      { domain: 'example.com' },
      { name: '__host-sid', path: '/app' },
      { name: '__HOST-x', domain: 'example.com' },
      { name: '__Host-sid', secure: false },
    ]) {
      expect(refusal(options).message, JSON.stringify(options)).toBe(message);
    }
    expect(resolveCookieOptions({ name: '__host-x' }).name).toBe('__host-x');
  });

  it('a __Secure- name needs Secure, whatever its case, and may have a path and a domain', () => {
    const message = 'A `__Secure-` cookie needs `secure: true`; rename it for plain http.';
    expect(refusal({ name: '__Secure-sid', secure: false }).message).toBe(message);
    expect(refusal({ name: '__SECURE-sid', secure: false }).message).toBe(message);
    const options = resolveCookieOptions({
      name: '__Secure-sid',
      path: '/app',
      domain: 'example.com',
    });
    expect(serializeCookie(options, 'v', undefined, NOW)).toBe(
      '__Secure-sid=v; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('SameSite=None and Partitioned each need Secure, with their own message', () => {
    expect(refusal({ secure: false, sameSite: 'none' }).message).toBe(
      'Option `cookie.sameSite: "none"` requires `secure: true`.',
    );
    expect(refusal({ secure: false, partitioned: true }).message).toBe(
      'Option `cookie.partitioned` requires `secure: true`.',
    );
  });

  it('defaults the name by transport and keeps every resolved field', () => {
    expect(resolveCookieOptions()).toEqual({
      name: '__Host-sid',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      partitioned: false,
    });
    expect(resolveCookieOptions({ secure: false })).toEqual({
      name: 'sid',
      secure: false,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      partitioned: false,
    });
  });

  it('refuses a non-object and names the unknown key and the valid ones', () => {
    for (const options of [null, [], 'x', 1]) {
      expect(refusal(options).message).toBe(
        'Option `cookie` must be an object such as `{ secure: false }`.',
      );
    }
    expect(refusal({ maxAge: 1 }).message).toBe(
      'Option `cookie.maxAge` is unknown; the cookie options are name, secure, httpOnly, sameSite, path, domain, partitioned, dangerouslyAllowScriptAccess, dangerouslyAllowInsecureCookie.',
    );
  });

  it('describes a mistyped flag by kind', () => {
    const cases: [unknown, string][] = [
      [null, 'null'],
      [[], 'an array'],
      [{}, 'an object'],
      ['yes', 'a string'],
      [1, 'a number'],
    ];
    for (const [value, kind] of cases) {
      expect(refusal({ secure: value }).message).toBe(
        `Option \`cookie.secure\` must be a boolean (true or false), got ${kind}.`,
      );
    }
  });
});

describe('serializeCookie: value and size', () => {
  it('accepts names and values up to exactly 4096 bytes and refuses one byte more', () => {
    const name = 'sid';
    const fits = 'a'.repeat(MAX_COOKIE_BYTES - name.length - 1);
    expect(serializeCookie(dev(), fits, undefined, NOW)).toBe(
      `sid=${fits}; Path=/; HttpOnly; SameSite=Lax`,
    );
    expect(() => serializeCookie(dev(), `${fits}a`, undefined, NOW)).toThrow(
      expect.objectContaining({
        code: 'ERR_SESSION_TOO_LARGE',
        size: 4097,
        limit: 4096,
        message: 'The session cookie is 4097 bytes; the limit is 4096 bytes.',
      }),
    );
  });

  it('accepts every cookie-octet in a value', () => {
    const value = "!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~";
    expect(serializeCookie(dev(), value, undefined, NOW)).toBe(
      `sid=${value}; Path=/; HttpOnly; SameSite=Lax`,
    );
  });

  it.each(['a b', 'a"b', 'a,b', 'a;b', 'a\\b', 'a\u007fb', 'a\tb', 'é'])(
    'refuses the value %j with a TypeError',
    (value) => {
      expect(() => serializeCookie(dev(), value, undefined, NOW)).toThrow(
        new TypeError('Cookie value has forbidden characters.'),
      );
    },
  );
});

describe('readCookie / forEachCookie', () => {
  it('trims SP and HTAB around names and values, nothing else', () => {
    expect(readCookie(' \tsid \t= \tx \t', 'sid')).toEqual(['x']);
    expect(readCookie('sid=\u00a0x', 'sid')).toEqual(['\u00a0x']);
    expect(readCookie('sid = a b ', 'sid')).toEqual(['a b']);
  });

  it('removes one pair of surrounding quotes, only when both are there', () => {
    expect(readCookie('sid=""', 'sid')).toEqual(['']);
    expect(readCookie('sid="', 'sid')).toEqual(['"']);
    expect(readCookie('sid="x', 'sid')).toEqual(['"x']);
    expect(readCookie('sid=x"', 'sid')).toEqual(['x"']);
    expect(readCookie('sid=""x""', 'sid')).toEqual(['"x"']);
  });

  it('keeps "=" inside a value and skips pairs without "="', () => {
    expect(readCookie('sid=a=b; sid; =sid; sid=', 'sid')).toEqual(['a=b', '']);
    // A last pair without "=": nothing is read from it (nor from the text before it).
    expect(readCookie('sid=1; sidd', 'sid')).toEqual(['1']);
  });

  it('an "=" of a later pair never makes a name of its own pair', () => {
    const seen: [string, string][] = [];
    forEachCookie('sk.a; sk.b=2;sk.c', 'sk.', (name, value) => {
      seen.push([name, value]);
    });
    expect(seen).toEqual([['sk.b', '2']]);
  });

  it('visits every pair whose name starts with the prefix, in order, across header lines', () => {
    const seen: [string, string][] = [];
    forEachCookie(['a=1; sk.x=2', 'sk.y=3; bsk.z=4; sk.=5'], 'sk.', (name, value) => {
      seen.push([name, value]);
    });
    expect(seen).toEqual([
      ['sk.x', '2'],
      ['sk.y', '3'],
      ['sk.', '5'],
    ]);
  });

  it('visits nothing for an empty header or one without the prefix', () => {
    const seen: string[] = [];
    const visit = (name: string) => seen.push(name);
    forEachCookie('', '', visit);
    forEachCookie([], '', visit);
    forEachCookie('a=1', 'sid', visit);
    expect(seen).toEqual([]);
    forEachCookie('a=1', '', visit);
    expect(seen).toEqual(['a']);
  });
});
