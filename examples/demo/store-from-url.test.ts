/**
 * `SESSION_STORE` parsing and opening.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/index.js';
import {
  connectStore,
  DEFAULT_STORE_URL,
  type OpenedStore,
  openStore,
  parseStoreUrl,
  StoreConnectError,
  StoreUrlError,
} from './store-from-url.js';
import { Client, startDemo } from './test-support.js';

const CWD = '/srv/app';

describe('parseStoreUrl', () => {
  it('defaults to sqlite:./data/sessions.db when unset or blank', () => {
    expect(DEFAULT_STORE_URL).toBe('sqlite:./data/sessions.db');
    const expected = { kind: 'sqlite', path: '/srv/app/data/sessions.db' };
    expect(parseStoreUrl(undefined, CWD)).toEqual(expected);
    expect(parseStoreUrl('', CWD)).toEqual(expected);
    expect(parseStoreUrl('   ', CWD)).toEqual(expected);
  });

  it.each([
    ['memory:', { kind: 'memory' }],
    ['MEMORY:', { kind: 'memory' }],
    ['memory://', { kind: 'memory' }],
    ['file:./var/sessions', { kind: 'file', dir: '/srv/app/var/sessions' }],
    ['file:/tmp/s', { kind: 'file', dir: '/tmp/s' }],
    ['file:///tmp/s', { kind: 'file', dir: '/tmp/s' }],
    ['sqlite:./data/x.db', { kind: 'sqlite', path: '/srv/app/data/x.db' }],
    ['sqlite://./x.db', { kind: 'sqlite', path: '/srv/app/x.db' }],
    ['sqlite:///var/lib/x.db', { kind: 'sqlite', path: '/var/lib/x.db' }],
    ['sqlite:x.db', { kind: 'sqlite', path: '/srv/app/x.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
  ])('%s', (url, spec) => {
    expect(parseStoreUrl(url, CWD)).toEqual(spec);
  });

  it.each([
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['valkey://cache:6380/2', { kind: 'redis', url: 'redis://cache:6380/2' }],
    ['redis://127.0.0.1?prefix=app:', { kind: 'redis', url: 'redis://127.0.0.1', prefix: 'app:' }],
    ['postgres://u:p@db/app', { kind: 'postgres', url: 'postgres://u:p@db/app' }],
    ['postgresql://db/app?table=s', { kind: 'postgres', url: 'postgres://db/app', table: 's' }],
    ['mysql://root@127.0.0.1/test', { kind: 'mysql', url: 'mysql://root@127.0.0.1/test' }],
    ['mariadb://db/app', { kind: 'mysql', url: 'mysql://db/app' }],
  ])('%s', (url, spec) => {
    expect(parseStoreUrl(url, CWD)).toEqual(spec);
  });

  it('parses tiered:<cache>+<persistent>, splitting at the + that starts a URL', () => {
    expect(parseStoreUrl('tiered:redis://127.0.0.1:6379+postgres://u:a+b@db/app', CWD)).toEqual({
      kind: 'tiered',
      cache: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
      persistent: { kind: 'postgres', url: 'postgres://u:a+b@db/app' },
    });
    expect(parseStoreUrl('tiered:memory:+sqlite:./s.db', CWD)).toEqual({
      kind: 'tiered',
      cache: { kind: 'memory' },
      persistent: { kind: 'sqlite', path: '/srv/app/s.db' },
    });
    expect(() => parseStoreUrl('tiered:redis://x', CWD)).toThrow(
      /tiered:<cache-url>\+<persistent-url>/,
    );
    expect(() => parseStoreUrl('tiered:memory:+tiered:memory:+memory:', CWD)).toThrow(
      StoreUrlError,
    );
  });

  it('never echoes a server URL (it may hold a password) in an error', () => {
    for (const url of ['postgres://u:hunter2@', 'redis://:hunter2@[bad']) {
      expect(() => parseStoreUrl(url, CWD)).toThrow(StoreUrlError);
      expect(() => parseStoreUrl(url, CWD)).not.toThrow(/hunter2/);
    }
  });

  it.each([
    ['ftp://x', /unknown store "ftp"/],
    ['just-a-path.db', /unknown store "just-a-path\.db"/],
    [':nothing', /unknown store/],
    ['memory:extra', /"memory:"/],
    ['sqlite:', /needs a database path/],
    ['file:', /needs a directory/],
  ])('%s is an error naming the problem', (url, message) => {
    expect(() => parseStoreUrl(url, CWD)).toThrow(message);
    expect(() => parseStoreUrl(url, CWD)).toThrow(/sqlite:|file:|memory:|tiered:/);
  });
});

describe('openStore', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('opens SQLite in WAL mode, creating the directory and a 0600 file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionkit-demo-url-'));
    const path = join(dir, 'nested', 'sessions.db');
    const opened = openStore(parseStoreUrl(`sqlite:${path}`));
    expect(opened.store.name).toBe('sqlite');
    expect(opened.description).toBe(`sqlite ${path}`);
    await opened.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      check.close();
    }
  });

  it('opens the memory and file stores', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionkit-demo-url-'));
    const memory = openStore(parseStoreUrl('memory:'));
    expect(memory.store.name).toBe('memory');
    await memory.close();
    const file = openStore(parseStoreUrl('file:./sessions', dir));
    expect(file.store.name).toBe('file');
    expect(file.description).toBe(`file ${resolve(dir, 'sessions')}`);
    await file.close();
  });
});

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

describe('connectStore on server stores', () => {
  it('an unreachable server is a one-line StoreConnectError naming the host, never the password', async () => {
    for (const url of [
      'redis://:hunter2@127.0.0.1:1',
      'postgres://u:hunter2@127.0.0.1:1/db',
      'mysql://u:hunter2@127.0.0.1:1/db',
      'tiered:memory:+postgres://u:hunter2@127.0.0.1:1/db',
    ]) {
      const error = await connectStore(parseStoreUrl(url)).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(StoreConnectError);
      const { message } = error as Error;
      expect(message).toMatch(
        /^cannot use the (redis|postgres|mysql) 127\.0\.0\.1:1(\/db)? session store \([\w ]+\)\.$/,
      );
      expect(message).not.toContain('hunter2');
    }
  });

  it('the demo exits 1 with that one line when its store is unreachable at start', () => {
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
        timeout: 20_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^sessionkit demo: cannot use the postgres 127\.0\.0\.1:1\/db session store/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });

  const name = `sk_demo_${randomBytes(5).toString('hex')}`;
  describe.each([
    ['redis', `${REDIS}?prefix=${name}:`],
    ['postgres', `${POSTGRES}?table=${name}`],
    ['mysql', `${MYSQL}?table=${name}`],
    ['tiered', `tiered:${REDIS}?prefix=${name}t:+${POSTGRES}?table=${name}t`],
  ])('the demo on %s (SESSION_STORE=%s)', (kind, url) => {
    let opened: OpenedStore | undefined;
    let skip: string | undefined;
    let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
    beforeAll(async () => {
      try {
        opened = await connectStore(parseStoreUrl(url));
      } catch (error) {
        if (process.env.CI === 'true') throw error;
        skip = `${kind} unreachable: ${(error as Error).message}`;
        return;
      }
      demo = await startDemo({ store: opened.store, secrets: generateSecret() });
    });
    afterAll(async () => {
      await demo?.close();
      if (opened === undefined) return;
      await cleanup(kind, name, opened);
      await opened.close();
    });

    it('migrates at start and serves 200 concurrent POST /api/counter: all 200, counter 200', async (ctx) => {
      if (skip) return ctx.skip(skip);
      expect(opened!.description).not.toMatch(/@|postgres:\/\/|redis:\/\//);
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
});

/** Remove what a demo test wrote under `name` (the stores never drop their own data). */
async function cleanup(kind: string, name: string, opened: OpenedStore): Promise<void> {
  const { deletePrefix, dropTables } = await import('../../test/support/backends.js');
  if (kind === 'redis') await deletePrefix(`${name}:`);
  if (kind === 'postgres') await dropTables(name);
  if (kind === 'tiered') {
    await deletePrefix(`${name}t:`);
    await dropTables(`${name}t`);
  }
  if (kind === 'mysql') {
    const store = opened.store as unknown as { migrate?: unknown };
    void store;
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ uri: MYSQL });
    await conn.query(`DROP TABLE IF EXISTS ${name}, ${name}_locks`);
    await conn.end();
  }
}
