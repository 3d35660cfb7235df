/**
 * Cookie options are validated strictly (issue 11, item 8; docs/security.md "Cookie options"):
 * every option has the type it documents, `Path` and `Domain` fit what browsers keep, and the two
 * weakenings — script access (`httpOnly: false`) and plain-http cookies in production
 * (`secure: false` with `NODE_ENV=production`) — need their own explicit acknowledgement. Each
 * refusal is a `ConfigError` naming the option, at construction; nothing weaker is ever emitted.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CookieOptions, resolveCookieOptions } from '../../src/core/cookie.js';
import { createSessionManager } from '../../src/core/manager.js';
import { serializeCookie } from '../../src/core/set-cookie.js';
import { memoryStore } from '../../src/stores/memory.js';

const SECRET = 'Q29va2llLW9wdGlvbnMtdGVzdC1zZWNyZXQtMjAyNi0wMQ';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The ConfigError `resolveCookieOptions(options)` throws (fails the test when none is thrown). */
function refusal(options: unknown): { code: string; message: string } {
  try {
    resolveCookieOptions(options as CookieOptions);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

/** A host name of `length` characters made of valid 10-character DNS labels. */
function domainOf(length: number): string {
  const text = 'abcdefghi.'.repeat(Math.ceil(length / 10)).slice(0, length);
  return text.endsWith('.') ? `${text.slice(0, -1)}z` : text;
}

describe('cookie options: types', () => {
  it.each([
    ['partitioned', { partitioned: 'yes', secure: false }],
    ['partitioned', { partitioned: 1 }],
    ['secure', { secure: 'false' }],
    ['secure', { secure: 0 }],
    ['httpOnly', { httpOnly: 'false' }],
    ['httpOnly', { httpOnly: null }],
    ['name', { name: 42, secure: false }],
    ['path', { path: ['/'] }],
    ['domain', { domain: 7, secure: false }],
    ['sameSite', { sameSite: 'Lax' }],
    ['sameSite', { sameSite: true }],
    ['dangerouslyAllowScriptAccess', { httpOnly: false, dangerouslyAllowScriptAccess: 'yes' }],
    ['dangerouslyAllowScriptAccess', { dangerouslyAllowScriptAccess: 'yes' }],
    ['dangerouslyAllowInsecureCookie', { secure: false, dangerouslyAllowInsecureCookie: 1 }],
  ])('refuses a mistyped `cookie.%s` (%j), naming it', (option, options) => {
    const error = refusal(options);
    expect(error.code).toBe('ERR_SESSION_CONFIG');
    expect(error.message).toContain(`\`cookie.${option}`);
  });

  it('refuses unknown cookie options (a misspelled attribute would be silently ignored)', () => {
    for (const key of ['httponly', 'maxAge', 'sameSIte', 'expires']) {
      const error = refusal({ [key]: false });
      expect(error.code).toBe('ERR_SESSION_CONFIG');
      expect(error.message).toContain(`\`cookie.${key}\``);
    }
    expect(refusal('secure').code).toBe('ERR_SESSION_CONFIG');
  });

  it('partitioned: "yes" never emits Partitioned without Secure; true with Secure does', () => {
    expect(refusal({ partitioned: 'yes', secure: false }).message).toContain('boolean');
    const partitioned = resolveCookieOptions({ partitioned: true });
    expect(serializeCookie(partitioned, 'v', undefined, 0)).toMatch(/; Secure; .*; Partitioned$/);
  });
});

describe('cookie options: bounds', () => {
  it('refuses a Path over 1024 bytes and a Domain over 253 characters, accepts the limits', () => {
    const path = `/${'p'.repeat(1023)}`;
    expect(Buffer.byteLength(path)).toBe(1024);
    expect(resolveCookieOptions({ name: 'sid', path }).path).toBe(path);
    const long = refusal({ name: 'sid', path: `${path}p` });
    expect(long.code).toBe('ERR_SESSION_CONFIG');
    expect(long.message).toContain('`cookie.path`');
    expect(long.message).toContain('1024');

    const domain = domainOf(253);
    expect(domain).toHaveLength(253);
    expect(resolveCookieOptions({ name: 'sid', domain }).domain).toBe(domain);
    for (const size of [254, 1025]) {
      const error = refusal({ name: 'sid', domain: domainOf(size) });
      expect(error.code).toBe('ERR_SESSION_CONFIG');
      expect(error.message).toContain('`cookie.domain`');
    }
  });

  it('refuses an empty name or one over 1024 bytes', () => {
    expect(refusal({ name: '', secure: false }).message).toContain('`cookie.name`');
    expect(refusal({ name: 'n'.repeat(1025), secure: false }).message).toContain('`cookie.name`');
    expect(resolveCookieOptions({ name: 'n'.repeat(1024), secure: false }).name).toHaveLength(1024);
  });
});

describe('cookie options: weakenings need an explicit acknowledgement', () => {
  it('httpOnly: false is refused unless dangerouslyAllowScriptAccess: true', () => {
    const error = refusal({ httpOnly: false });
    expect(error.code).toBe('ERR_SESSION_CONFIG');
    expect(error.message).toContain('`cookie.httpOnly: false`');
    expect(error.message).toContain('dangerouslyAllowScriptAccess');
    expect(refusal({ httpOnly: false, dangerouslyAllowScriptAccess: false }).code).toBe(
      'ERR_SESSION_CONFIG',
    );
    const open = resolveCookieOptions({ httpOnly: false, dangerouslyAllowScriptAccess: true });
    expect(open.httpOnly).toBe(false);
    expect(serializeCookie(open, 'v', undefined, 0)).not.toContain('HttpOnly');
    // The acknowledgement alone changes nothing.
    const closed = resolveCookieOptions({ dangerouslyAllowScriptAccess: true });
    expect(serializeCookie(closed, 'v', undefined, 0)).toContain('; HttpOnly');
  });

  it('secure: false under NODE_ENV=production is refused unless dangerouslyAllowInsecureCookie: true', () => {
    vi.stubEnv('NODE_ENV', 'development');
    expect(resolveCookieOptions({ secure: false }).secure).toBe(false);
    vi.stubEnv('NODE_ENV', 'production');
    const error = refusal({ secure: false });
    expect(error.code).toBe('ERR_SESSION_CONFIG');
    expect(error.message).toContain('`cookie.secure: false`');
    expect(error.message).toContain('NODE_ENV');
    expect(error.message).toContain('dangerouslyAllowInsecureCookie');
    const plain = resolveCookieOptions({ secure: false, dangerouslyAllowInsecureCookie: true });
    expect(serializeCookie(plain, 'v', undefined, 0)).toBe('sid=v; Path=/; HttpOnly; SameSite=Lax');
    // Secure defaults need no acknowledgement in production.
    expect(resolveCookieOptions().secure).toBe(true);
  });

  it('createSessionManager refuses the same, naming the option', () => {
    vi.stubEnv('NODE_ENV', 'production');
    const store = memoryStore({ sweepInterval: 0 });
    for (const cookie of [
      { secure: false },
      { httpOnly: false },
      { partitioned: 'yes' },
      { path: `/${'x'.repeat(1024)}` },
    ]) {
      const create = () =>
        createSessionManager({ store, secrets: [SECRET], cookie: cookie as CookieOptions });
      expect(create, JSON.stringify(cookie)).toThrow(
        expect.objectContaining({
          code: 'ERR_SESSION_CONFIG',
          message: expect.stringContaining('`cookie.'),
        }),
      );
    }
  });
});
