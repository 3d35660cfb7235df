/**
 * `storeFromUrl` on real backends: SQLite files, the file store, Redis (ioredis and node-redis,
 * standalone, Sentinel and Cluster), PostgreSQL, MariaDB and tiered; `migrate()`'s report; a
 * `close()` that closes the clients it created; and failures — unreachable servers, refused
 * credentials, a missing package — as one line that never carries the password.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPackage } from '../../src/config/_load.js';
import { type ConfiguredStore, storeFromUrl } from '../../src/config/index.js';
import { isSessionError } from '../../src/core/errors.js';
import { createSessionManager, generateSecret } from '../../src/index.js';
import { record, storeKey } from '../stores/conformance.js';
import {
  deletePrefix,
  dropMysqlTables,
  dropTables,
  MYSQL_URL,
  POSTGRES_URL,
  REDIS_URL,
  uniqueName,
} from '../support/backends.js';
import {
  cli,
  freePort,
  HAS_REDIS_SERVER,
  killAll,
  spawnRedis,
  startRedisCluster,
  startSentinelGroup,
  until,
} from '../support/redis-servers.js';

const CI = process.env.CI === 'true';
/** Every diagnostics channel sessionkit publishes on (docs/observability.md). */
const CHANNELS = [
  'sessionkit:event',
  ...['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map(
    (e) => `tracing:sessionkit:store:${e}`,
  ),
];
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sessionkit-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write, read back and delete one record: the store works end to end. */
async function roundTrip(store: ConfiguredStore): Promise<void> {
  const key = storeKey();
  await expect(store.set(key, record({ userId: 'u1' }))).resolves.toBe(true);
  expect((await store.get(key))?.userId).toBe('u1');
  await expect(store.delete(key)).resolves.toBe(true);
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** Open `url`, or skip visibly when its server is down (a failure under CI=true). */
async function open(url: string, ctx: { skip(reason: string): never }, migrate = true) {
  try {
    return await storeFromUrl(url, { migrate });
  } catch (error) {
    if (CI || !isSessionError(error, 'ERR_SESSION_STORE')) throw error;
    return ctx.skip(`unreachable: ${(error as Error).message}`);
  }
}

describe('storeFromUrl: local stores', () => {
  it('sqlite: creates the directory 0700 and the database 0600 in WAL mode, with its tables', async () => {
    const path = join(dir, 'nested', 'sessions.db');
    const store = await storeFromUrl('sqlite:./nested/sessions.db', { cwd: dir });
    expect([store.kind, store.description]).toEqual(['sqlite', `sqlite ${path}`]);
    await roundTrip(store);
    // The tables were created when the store opened; migrate() reports that, then nothing more.
    await expect(store.migrate!()).resolves.toEqual({
      created: ['sessionkit_sessions', 'sessionkit_sessions_locks'],
      existing: [],
    });
    await expect(store.migrate!()).resolves.toEqual({
      created: [],
      existing: ['sessionkit_sessions', 'sessionkit_sessions_locks'],
    });
    await store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  });

  it('with create: false, a missing path is a ConfigError and a database without tables says so', async () => {
    for (const url of ['sqlite:./missing.db', 'file:./missing-dir']) {
      const error = await rejection(storeFromUrl(url, { cwd: dir, create: false }));
      expect(isSessionError(error, 'ERR_SESSION_CONFIG'), url).toBe(true);
      expect((error as Error).message).toMatch(/ does not exist\.$/);
    }
    new Database(join(dir, 'empty.db')).close();
    const error = await rejection(
      storeFromUrl('sqlite:./empty.db', { cwd: dir, create: false, migrate: false }),
    );
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error as Error).message).toBe(
      `The sqlite ${join(dir, 'empty.db')} session store has no session table; run "sessionkit migrate" first.`,
    );
  });

  it('memory: and file: open their stores; tiered over them closes both', async () => {
    const memory = await storeFromUrl('memory:?maxEntries=10');
    await roundTrip(memory);
    await memory.close();
    const tiered = await storeFromUrl('tiered:memory:+file:./files?fsync=false', { cwd: dir });
    expect(tiered.description).toBe(`tiered: memory over file ${join(dir, 'files')}`);
    expect(tiered.tiers?.persistent.kind).toBe('file');
    await roundTrip(tiered);
    await tiered.close();
    await tiered.close(); // idempotent
  });
});

describe('storeFromUrl: sealed cookies', () => {
  it('cookie: keeps sessions in the cookie; cookie:<url> makes them revocable', async () => {
    const secrets = [generateSecret()];
    const plain = await storeFromUrl('cookie:');
    expect([plain.kind, plain.description]).toEqual(['cookie', 'cookie']);
    const sealed = createSessionManager({ store: plain, secrets });
    const first = sealed.begin({});
    first.session.set('n', 1);
    const cookie = (await first.end()).setCookie.map((c) => c.split(';')[0]).join('; ');
    const next = sealed.begin({ cookie });
    await expect(next.session.get('n')).resolves.toBe(1);
    await next.end();
    await plain.close();

    const revocable = await storeFromUrl('cookie:sqlite:./revocation.db', { cwd: dir });
    expect(revocable.description).toBe(`cookie (revocation: sqlite ${join(dir, 'revocation.db')})`);
    const manager = createSessionManager({ store: revocable, secrets });
    const login = manager.begin({});
    await login.session.login('alice');
    const signedIn = (await login.end()).setCookie.map((c) => c.split(';')[0]).join('; ');
    await expect(manager.revokeAll('alice')).resolves.toBe(1);
    const after = manager.begin({ cookie: signedIn });
    expect(await after.session.meta()).toMatchObject({ userId: null });
    await after.end();
    await revocable.close();
  });
});

describe('storeFromUrl: hybrid', () => {
  it('hybrid:<url> keeps anonymous sessions in the cookie and moves signed-in ones to the store', async () => {
    const secrets = [generateSecret()];
    const hybrid = await storeFromUrl('hybrid:tiered:memory:+sqlite:./hybrid.db', { cwd: dir });
    expect([hybrid.kind, hybrid.description]).toEqual([
      'hybrid',
      `hybrid over tiered: memory over sqlite ${join(dir, 'hybrid.db')}`,
    ]);
    expect(hybrid.tiers?.persistent.kind).toBe('sqlite');
    const manager = createSessionManager({ store: hybrid, secrets });
    const first = manager.begin({});
    first.session.set('n', 1);
    const sealed = (await first.end()).setCookie.map((c) => c.split(';')[0]).join('; ');
    expect(sealed).toMatch(/^__Host-sid=[^.]+\.[^.]{16}\.[^.]+$/);
    const login = manager.begin({ cookie: sealed });
    login.session.login('alice');
    const signedIn = (await login.end()).setCookie.map((c) => c.split(';')[0]).join('; ');
    expect(signedIn).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    await expect(manager.listSessions('alice')).resolves.toHaveLength(1);
    const after = manager.begin({ cookie: signedIn });
    expect(await after.session.all()).toEqual({ n: 1 });
    await after.end();
    await hybrid.close();
    await hybrid.close(); // idempotent
    // Over a SQL store, its schema is reached through the hybrid (`sessionkit migrate`).
    const sql = await storeFromUrl('hybrid:sqlite:./hybrid-sql.db', { cwd: dir });
    await sql.migrate!();
    const again = await sql.migrate!();
    expect(again.created).toEqual([]);
    expect(again.existing.length).toBeGreaterThan(0);
    await sql.close();
  });
});

describe('storeFromUrl: servers', () => {
  const name = uniqueName();

  it.for([['ioredis'], ['redis']])(
    'redis with %s: prefix, round trip, close() closes the client',
    async ([client], ctx) => {
      const store = await open(`${REDIS_URL}?prefix=${name}:&client=${client}`, ctx);
      try {
        await roundTrip(store);
      } finally {
        await store.close();
        await deletePrefix(`${name}:`);
      }
      // The client is gone: a call fails as a store outage, never hangs.
      expect(isSessionError(await rejection(store.get(storeKey())), 'ERR_SESSION_STORE')).toBe(
        true,
      );
    },
  );

  it.for<[string, string]>([
    ['postgres', POSTGRES_URL],
    ['mysql', MYSQL_URL],
  ])(
    '%s: migrate reports what it created, round trip, close() ends the pool',
    async ([kind, url], ctx) => {
      const table = `${name}_${kind}`;
      const store = await open(`${url}?table=${table}&poolSize=2`, ctx, false);
      try {
        expect(store.kind).toBe(kind);
        await expect(store.migrate!()).resolves.toEqual({
          created: [table, `${table}_locks`],
          existing: [],
        });
        await expect(store.migrate!()).resolves.toEqual({
          created: [],
          existing: [table, `${table}_locks`],
        });
        await roundTrip(store);
        await expect(store.counts!()).resolves.toEqual({
          live: 0,
          expired: 0,
          locks: 0,
          expiredLocks: 0,
        });
      } finally {
        await (kind === 'postgres' ? dropTables(table) : dropMysqlTables(table));
        await store.close();
      }
      expect(isSessionError(await rejection(store.get(storeKey())), 'ERR_SESSION_STORE')).toBe(
        true,
      );
    },
  );

  it('tiered redis over postgres', async (ctx) => {
    const url = `tiered:${REDIS_URL}?prefix=${name}t:+${POSTGRES_URL}?table=${name}_t`;
    const store = await open(url, ctx);
    try {
      expect(store.tiers?.cache.kind).toBe('redis');
      await roundTrip(store);
    } finally {
      await store.close();
      await deletePrefix(`${name}t:`);
      await dropTables(`${name}_t`);
    }
  });
});

describe('storeFromUrl: failures are one line, never a password', () => {
  it.each([
    ['redis://:hunter2@127.0.0.1:1?client=ioredis', 'redis 127.0.0.1:1'],
    ['redis://:hunter2@127.0.0.1:1?client=redis', 'redis 127.0.0.1:1'],
    ['postgres://u:hunter2@127.0.0.1:1/db', 'postgres 127.0.0.1:1/db'],
    ['mysql://u:hunter2@127.0.0.1:1/db', 'mysql 127.0.0.1:1/db'],
    ['tiered:memory:+postgres://u:hunter2@127.0.0.1:1/db', 'postgres 127.0.0.1:1/db'],
  ])('%s unreachable', async (url, where) => {
    const error = await rejection(storeFromUrl(url));
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error as Error).message).toBe(
      `Cannot use the ${where} session store (connection refused).`,
    );
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY })).not.toContain('hunter2');
  });

  describe('refused credentials on real servers', () => {
    let redisPort = 0;
    const children: ReturnType<typeof spawnRedis>[] = [];
    beforeAll(async () => {
      if (!HAS_REDIS_SERVER) return;
      redisPort = await freePort();
      children.push(
        spawnRedis([
          '--port',
          redisPort,
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--requirepass',
          'right-password',
        ]),
      );
      await until(() => cli(redisPort, '-a', 'right-password', '--no-auth-warning', 'PING'));
    });
    afterAll(() => killAll(children));

    // PostgreSQL here trusts 127.0.0.1, so a role that does not exist is how it refuses a login.
    it.for<[string, () => string]>([
      ['postgres', () => `postgres://no_such_role:hunter2@127.0.0.1:${port(POSTGRES_URL)}/test`],
      ['mysql', () => `mysql://root:hunter2@127.0.0.1:${port(MYSQL_URL)}/test`],
      ['redis (ioredis)', () => `redis://:hunter2@127.0.0.1:${redisPort}?client=ioredis`],
      ['redis (node-redis)', () => `redis://:hunter2@127.0.0.1:${redisPort}?client=redis`],
    ])(
      '%s: authentication failed, and the password is in no error, event or log line',
      async ([kind, url], ctx) => {
        if (kind.startsWith('redis') && !HAS_REDIS_SERVER)
          return ctx.skip('no redis-server binary');
        const seen: string[] = [];
        const listen = (message: unknown) => seen.push(inspect(message, { depth: 8 }));
        const writes = captureOutput(seen);
        for (const channel of CHANNELS) {
          subscribe(channel, listen);
        }
        let error: unknown;
        try {
          error = await rejection(storeFromUrl(url()));
        } finally {
          writes.restore();
          for (const channel of CHANNELS) {
            unsubscribe(channel, listen);
          }
        }
        expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
        expect((error as Error).message).toMatch(
          /^Cannot use the \S+ 127\.0\.0\.1:\d+(\/test)? session store \(authentication failed\)\.$/,
        );
        expect(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(
          'hunter2',
        );
        expect(seen.join('\n')).not.toContain('hunter2');
      },
    );
  });

  it('a client package that is not installed is a ConfigError naming it and the install command', async () => {
    const error = await rejection(
      loadPackage(
        'postgres',
        'sessionkit-no-such-package',
        () => import('sessionkit-no-such-package' as string),
      ),
    );
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((error as Error).message).toBe(
      'The postgres store needs the "sessionkit-no-such-package" package, which is not installed: npm install sessionkit-no-such-package',
    );
  });
});

describe.skipIf(!HAS_REDIS_SERVER && !CI)('storeFromUrl: Redis Sentinel and Cluster', () => {
  it.each(['ioredis', 'redis'])(
    'redis+sentinel:// with %s finds the primary through the Sentinels',
    async (client) => {
      const group = await startSentinelGroup();
      try {
        const hosts = group.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
        const store = await storeFromUrl(
          `redis+sentinel://${hosts}/${group.name}?client=${client}`,
        );
        expect(store.description).toBe(`redis sentinel ${hosts}/${group.name}`);
        await roundTrip(store);
        const key = storeKey();
        await store.set(key, record());
        // Written on the primary the Sentinels name.
        expect((await cli(await group.primary(), 'EXISTS', `sessionkit:s:{${key}}`)).trim()).toBe(
          '1',
        );
        await store.close();
      } finally {
        await group.stop();
      }
    },
    120_000,
  );

  it.each(['ioredis', 'redis'])(
    'redis+cluster:// with %s reaches every master from one seed',
    async (client) => {
      const cluster = await startRedisCluster();
      try {
        const store = await storeFromUrl(
          `redis+cluster://127.0.0.1:${cluster.ports[0]}?client=${client}`,
        );
        const keys = Array.from({ length: 12 }, storeKey);
        for (const key of keys) await store.set(key, record({ userId: 'u' }));
        // Keys hash to all three masters; ids() scans each.
        const ids: string[] = [];
        for await (const id of store.ids!()) ids.push(id);
        expect(ids.sort()).toEqual([...keys].sort());
        await store.close();
      } finally {
        await cluster.stop();
      }
    },
    120_000,
  );
});

/** The port of a server URL. */
function port(url: string): string {
  return new URL(url).port;
}

/** Collect what is written to stdout, stderr and the console until `restore()`. */
function captureOutput(into: string[]): { restore(): void } {
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    log: console.log,
    warn: console.warn,
    error: console.error,
  };
  const keep = (...args: unknown[]) => {
    into.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
    return true;
  };
  process.stdout.write = keep as typeof process.stdout.write;
  process.stderr.write = keep as typeof process.stderr.write;
  console.log = keep;
  console.warn = keep;
  console.error = keep;
  return {
    restore() {
      process.stdout.write = saved.out;
      process.stderr.write = saved.err;
      console.log = saved.log;
      console.warn = saved.warn;
      console.error = saved.error;
    },
  };
}
