/**
 * The demo on every server store through `SESSION_STORE` (opened by `sessionkit/config`, as
 * `server.ts` does), and its one-line exit when the store cannot be used at start.
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfiguredStore, storeFromUrl } from '../../src/config/index.js';
import { generateSecret } from '../../src/index.js';
import {
  deletePrefix,
  dropMysqlTables,
  dropTables,
  MYSQL_URL,
  POSTGRES_URL,
  REDIS_URL,
  uniqueName,
} from '../../test/support/backends.js';
import { Client, startDemo } from './test-support.js';

describe('the demo server', () => {
  it('exits 1 with one line naming the host, never the password, when its store is unreachable', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'server.ts')],
      {
        env: {
          ...process.env,
          SESSION_STORE: 'postgres://u:hunter2@127.0.0.1:1/db',
          SESSION_SECRET: generateSecret(),
          PORT: '0',
        },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'sessionkit demo: SESSION_STORE: Cannot use the postgres 127.0.0.1:1/db session store (connection refused).',
    );
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });

  const name = uniqueName();
  describe.each([
    ['redis', `${REDIS_URL}?prefix=${name}:`],
    ['postgres', `${POSTGRES_URL}?table=${name}`],
    ['mysql', `${MYSQL_URL}?table=${name}`],
    ['tiered', `tiered:${REDIS_URL}?prefix=${name}t:+${POSTGRES_URL}?table=${name}t`],
  ])('on %s (SESSION_STORE=%s)', (kind, url) => {
    let store: ConfiguredStore | undefined;
    let skip: string | undefined;
    let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
    beforeAll(async () => {
      try {
        store = await storeFromUrl(url, { migrate: true });
      } catch (error) {
        if (process.env.CI === 'true') throw error;
        skip = `${kind} unreachable: ${(error as Error).message}`;
        return;
      }
      demo = await startDemo({ store, secrets: generateSecret() });
    });
    afterAll(async () => {
      await demo?.close();
      if (store === undefined) return;
      await cleanup(kind);
      await store.close();
    });

    it('migrates at start and serves 200 concurrent POST /api/counter: all 200, counter 200', async (ctx) => {
      if (skip) return ctx.skip(skip);
      expect(store!.description).not.toMatch(/@|postgres:\/\/|redis:\/\//);
      const client = new Client(demo!.url);
      const login = await client.request('POST', '/login', {
        json: { username: 'alice', password: 'demo-password' },
      });
      expect(login.status).toBe(200);
      const responses = await Promise.all(
        Array.from({ length: 200 }, () =>
          client.request('POST', '/api/counter', { headers: { accept: 'application/json' } }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
      const seen = responses
        .map((r) => r.json<{ counter: number }>().counter)
        .sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect((await client.getJson<{ counter: number }>('/api/session')).counter).toBe(200);
    });
  });

  describe.each([
    ['cookie', 'cookie:'],
    ['cookie with a Redis revocation store', `cookie:${REDIS_URL}?prefix=${name}c:`],
  ])('with sealed cookies, %s (SESSION_STORE=%s)', (kind, url) => {
    let store: ConfiguredStore | undefined;
    let skip: string | undefined;
    let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
    const revocable = url !== 'cookie:';
    beforeAll(async () => {
      try {
        store = await storeFromUrl(url);
      } catch (error) {
        if (process.env.CI === 'true') throw error;
        skip = `${kind} unreachable: ${(error as Error).message}`;
        return;
      }
      demo = await startDemo({ store, secrets: generateSecret() });
    });
    afterAll(async () => {
      await demo?.close();
      if (store === undefined) return;
      if (revocable) await deletePrefix(`${name}c:`);
      await store.close();
    });

    it('logs in, counts, flashes, lists devices when it can, and logs out for good', async (ctx) => {
      if (skip) return ctx.skip(skip);
      expect(store!.kind).toBe('cookie');
      expect(demo!.mode).toEqual({ stateless: true, revocable });
      const client = new Client(demo!.url);
      const login = await client.request('POST', '/login', {
        form: { username: 'alice', password: 'demo-password' },
      });
      expect(login.status).toBe(303);
      const home = await client.request('GET', '/');
      expect(home.text).toContain('Welcome, alice');
      expect(home.text).toContain('data-mode="stateless"');
      // Sequential increments each answer a new sealed cookie that carries the count.
      for (let i = 1; i <= 3; i++) {
        const res = await client.request('POST', '/api/counter', {
          headers: { accept: 'application/json' },
        });
        expect(res.json()).toEqual({ counter: i, conflictsResolved: 0 });
      }
      const state = await client.getJson<{ counter: number; flash: { success: string[] } }>(
        '/api/session',
      );
      expect(state).toMatchObject({ counter: 3, flash: { success: [] } }); // shown once, above
      const devices = await client.request('GET', '/sessions', {
        headers: { accept: 'application/json' },
      });
      if (revocable) {
        expect(devices.json<{ sessions: { current: boolean }[] }>().sessions).toEqual([
          expect.objectContaining({ current: true }),
        ]);
      } else {
        expect(devices.status).toBe(501);
      }
      const signedIn = client.cookie!;
      const logout = await client.request('POST', '/logout', { form: {} });
      expect(logout.status).toBe(303);
      expect((await client.request('GET', '/')).text).toContain('You are signed out.');
      // The old cookie: refused with a revocation store; without one it stays valid until its
      // deadline (docs/stateless.md, "Revocation"), which is why the demo shows no devices page.
      const replay = await client.request('GET', '/api/session', {
        headers: { cookie: signedIn, accept: 'application/json' },
      });
      expect(replay.json<{ authenticated: boolean }>().authenticated).toBe(!revocable);
    });
  });

  /** Remove what a test wrote under `name` (the stores never drop their own data). */
  async function cleanup(kind: string): Promise<void> {
    if (kind === 'redis') await deletePrefix(`${name}:`);
    if (kind === 'postgres') await dropTables(name);
    if (kind === 'tiered') {
      await deletePrefix(`${name}t:`);
      await dropTables(`${name}t`);
    }
    if (kind === 'mysql') await dropMysqlTables(name);
  }
});
