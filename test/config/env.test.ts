/**
 * `createSessionManagerFromEnv`: `SESSION_STORE`, `SESSION_SECRETS` (primary first) and the
 * option variables, checked by what a request sees (cookie name and attributes, expiry, key
 * rotation); errors name the variable and never its value.
 */

import { describe, expect, it } from 'vitest';
import { createSessionManagerFromEnv } from '../../src/config/index.js';
import { isSessionError } from '../../src/core/errors.js';
import { createSessionManager, generateSecret, type SessionManager } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** A fixed clock for the managers (the memory store judges expiry by the real one). */
const NOW = Date.now();

/** One request that writes `n`; resolves the cookie it sets (`name=value`) and all attributes. */
async function write(manager: SessionManager, cookie?: string) {
  const scope = manager.begin(cookie === undefined ? {} : { cookie });
  scope.session.set('n', 1);
  const { setCookie } = await scope.end();
  const header = setCookie[0] ?? '';
  return { pair: header.split(';')[0]!, header };
}

describe('createSessionManagerFromEnv', () => {
  it('reads the store, the secrets and the options from the environment', async () => {
    const [primary, older] = [generateSecret(), generateSecret()];
    const manager = await createSessionManagerFromEnv({
      env: {
        SESSION_STORE: 'memory:',
        SESSION_SECRETS: ` ${primary}, ${older} `,
        SESSION_IDLE_TIMEOUT: '10m',
        SESSION_COOKIE_NAME: 'sid',
        SESSION_COOKIE_SECURE: 'false',
        SESSION_COOKIE_SAMESITE: 'strict',
      },
      now: () => NOW,
    });
    const { pair, header } = await write(manager);
    expect(pair).toMatch(/^sid=/);
    expect(header).toContain('SameSite=Strict');
    expect(header).not.toContain('Secure');
    // SESSION_IDLE_TIMEOUT=10m: the record expires 600 000 ms after its last use.
    const [entry] = await (async () => {
      const out = [];
      for await (const key of manager.store.ids!()) out.push(await manager.store.get(key));
      return out;
    })();
    expect(entry?.expiresAt).toBe(NOW + 600_000);
    // The second secret only verifies: a cookie signed with it (before a rotation) is accepted.
    const before = createSessionManager({
      store: manager.store,
      secrets: [older],
      cookie: { name: 'sid', secure: false },
      now: () => NOW,
    });
    const old = await write(before);
    const scope = manager.begin({ cookie: old.pair });
    await expect(scope.session.get('n')).resolves.toBe(1);
    await scope.end();
    await manager.store.close?.();
  });

  it('a set variable overrides the option; the option is the default', async () => {
    const secrets = [generateSecret()];
    const base = { env: { SESSION_STORE: 'memory:' }, secrets, now: () => NOW };
    const viaOption = await createSessionManagerFromEnv({ ...base, idleTimeout: 5 * 60_000 });
    const viaEnv = await createSessionManagerFromEnv({
      ...base,
      env: { ...base.env, SESSION_IDLE_TIMEOUT: '90000' },
      idleTimeout: 5 * 60_000,
    });
    for (const [manager, idle] of [
      [viaOption, 300_000],
      [viaEnv, 90_000],
    ] as const) {
      await write(manager);
      const expiries: (number | undefined)[] = [];
      for await (const key of manager.store.ids!()) {
        expiries.push((await manager.store.get(key))?.expiresAt);
      }
      expect(expiries).toEqual([NOW + idle]);
    }
  });

  it('uses the `store` option, then `defaultStore`, when SESSION_STORE is unset', async () => {
    const store = memoryStore();
    const secrets = [generateSecret()];
    const given = await createSessionManagerFromEnv({ env: {}, store, secrets });
    expect(given.store).toBe(store);
    const fallback = await createSessionManagerFromEnv({
      env: { SESSION_STORE: ' ' },
      defaultStore: 'memory:',
      secrets,
    });
    expect(fallback.store.name).toBe('memory');
  });

  it.each([
    [{ SESSION_STORE: undefined }, /^SESSION_STORE is not set; set it to a store URL: /],
    [{ SESSION_SECRETS: undefined }, /^SESSION_SECRETS is not set/],
    [{ SESSION_SECRETS: 'hunter2hunter2,' }, /^SESSION_SECRETS has an empty entry/],
    [{ SESSION_SECRETS: 'hunter2' }, /secret/],
    [{ SESSION_IDLE_TIMEOUT: 'hunter2' }, /^SESSION_IDLE_TIMEOUT must be a duration/],
    [{ SESSION_STORE_TIMEOUT: '5 s' }, /^SESSION_STORE_TIMEOUT must be a duration/],
    [{ SESSION_ENCRYPT: 'yes' }, /^SESSION_ENCRYPT must be true or false/],
    [{ SESSION_CONCURRENCY: 'hunter2' }, /^SESSION_CONCURRENCY must be merge, lock or none/],
    [{ SESSION_MAX_PER_USER: '-1' }, /^SESSION_MAX_PER_USER must be a whole number/],
    [{ SESSION_STORE: 'postgres://u:hunter2@h/db?poolSize=x' }, /`poolSize`/],
  ])('%j is a ConfigError naming the variable, never its value', async (env, message) => {
    const error = await createSessionManagerFromEnv({
      env: { SESSION_STORE: 'memory:', SESSION_SECRETS: generateSecret(), ...env },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
