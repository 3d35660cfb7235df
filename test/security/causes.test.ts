/**
 * Nothing secret reaches a log through `StoreError.cause` (docs/security.md "What is logged
 * where"). The cause is the driver's own error, and frameworks print it whole: Hono's default
 * error handler runs `console.error(err)`, which shows the cause's message, stack and properties.
 * Real backend errors that carry a password are provoked against the real servers — ioredis keeps
 * the `HELLO 3 AUTH <user> <password>` arguments on the WRONGPASS reply of a wrong-password URL —
 * and everything a log would show of the resulting `StoreError` is scanned. Wrong-password
 * PostgreSQL and MariaDB URLs are checked the same way (their drivers do not echo the password
 * today; the test keeps it so). The redaction itself is unit-tested on crafted errors.
 */

import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { format, inspect } from 'node:util';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type SessionEnv, sessionMiddleware } from '../../src/adapters/hono.js';
import { StoreError } from '../../src/core/errors.js';
import { generateSecret, generateSessionId, hashSessionId } from '../../src/core/keys.js';
import { createSessionManager } from '../../src/core/manager.js';
import { REDACTED, redactError, redactedCopy, redactText } from '../../src/core/redact.js';
import type { SessionStore } from '../../src/core/store.js';
import { toStoreError } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { mysqlStore } from '../../src/stores/mysql.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import { listen } from '../adapters/contract.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, tryBackend } from '../support/backends.js';

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0).reverse()) await close();
});

/** A password nobody configured: the backend refuses it, and it must appear in no log. */
function password(): string {
  return `pw-${randomBytes(12).toString('hex')}`;
}

/** `url` with another user and password (percent-encoded as a URL needs). */
function withCredentials(url: string, user: string, secret: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = secret;
  return parsed.href;
}

/** Everything a log line shows of `value`: what `console.error(value)` and inspect print. */
function printed(value: unknown): string {
  return `${format(value)}\n${inspect(value, { depth: 10, showHidden: true })}`;
}

/** Skip (visibly) when `kind`'s server is down, except under CI=true where that fails. */
async function reachable(kind: 'redis' | 'postgres' | 'mysql'): Promise<boolean> {
  const { backend, reason } = await tryBackend(kind);
  if (backend === undefined) {
    console.warn(`[causes.test.ts] skipping the ${kind} case — ${reason}`);
    return false;
  }
  await backend.cleanup();
  return true;
}

/** A redisStore whose ioredis client authenticates with a wrong user and password. */
function wrongPasswordRedis(secret: string): SessionStore {
  const client = new Redis(
    withCredentials(REDIS_URL, `sk-nouser-${randomBytes(4).toString('hex')}`, secret),
    {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    },
  );
  client.on('error', () => {}); // reported per command
  closers.push(() => client.disconnect());
  return redisStore({ client, prefix: `sk-causes-${randomBytes(4).toString('hex')}:` });
}

describe('StoreError.cause carries no secret from a real backend', () => {
  it('Redis: a wrong password in the URL (ioredis keeps HELLO … AUTH arguments on the reply) is in no printed form of the StoreError', async () => {
    if (!(await reachable('redis'))) return;
    const secret = password();
    const store = wrongPasswordRedis(secret);
    const error = await store.get(hashSessionId(generateSessionId())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    const cause = (error as StoreError).cause as {
      message: string;
      command?: { name: string; args: unknown[] };
    };
    // The backend's error is kept for diagnosis: what failed, and which command.
    expect(cause.message).toMatch(/WRONGPASS/);
    expect(cause.command?.name).toBe('hello');
    expect(cause.command?.args).toContain(REDACTED);
    expect(printed(error)).not.toContain(secret);
    expect(printed(error)).toContain('WRONGPASS');
  });

  it('Hono: the default error handler prints the StoreError and its cause to stderr — without the password, at any depth', async () => {
    if (!(await reachable('redis'))) return;
    const secret = password();
    const sessionSecret = generateSecret();
    // A cookie signed with the app's secret, minted on a working store: the app then reads
    // its record from the broken Redis.
    const mint = createSessionManager({
      store: memoryStore(),
      secrets: [sessionSecret],
      cookie: { secure: false },
    });
    const scope = mint.begin({});
    scope.session.set('x', 1);
    const cookie = (await scope.end()).setCookie[0]!.split(';')[0]!;
    const manager = createSessionManager({
      store: wrongPasswordRedis(secret),
      secrets: [sessionSecret],
      cookie: { secure: false },
    });
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(manager));
    app.get('/read', async (c) => c.json({ x: (await c.get('session').get('x')) ?? null }));
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const server = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    closers.push(() => server.close());
    const reply = await fetch(`${server.url}/read`, { headers: { cookie } });
    expect(reply.status).toBe(503);
    expect(await reply.text()).not.toContain('WRONGPASS');
    const lines = logged.mock.calls.map((args) => format(...args)).join('\n');
    // Hono did print the error with its cause (that is what this guards) …
    expect(lines).toContain('StoreError');
    expect(lines).toContain('WRONGPASS');
    // … and the password is neither in what it printed (inspect's default depth hides the
    // command's arguments) nor in the error it handed over, at any depth (what a logger that
    // serializes causes, or an error tracker, would record).
    expect(lines).not.toContain(secret);
    const handed = logged.mock.calls.flat();
    expect(handed.some((arg) => arg instanceof StoreError)).toBe(true);
    for (const arg of handed) expect(inspect(arg, { depth: null })).not.toContain(secret);
  });

  it('PostgreSQL and MariaDB: wrong-credential URLs give StoreErrors whose printed forms hold no password', async () => {
    const secret = password();
    if (await reachable('postgres')) {
      const pool = new pg.Pool({
        connectionString: withCredentials(POSTGRES_URL, 'sk_nouser', secret),
        connectionTimeoutMillis: 2000,
      });
      closers.push(() => pool.end());
      const store = postgresStore({ pool, table: 'sk_causes' });
      const error = await store.get(hashSessionId(generateSessionId())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(printed(error)).toMatch(/sk_nouser/); // the driver's diagnosis is kept
      expect(printed(error)).not.toContain(secret);
    }
    if (await reachable('mysql')) {
      const pool = mysql.createPool(withCredentials(MYSQL_URL, 'sk_nouser', secret));
      closers.push(() => pool.end());
      const store = mysqlStore({ pool, table: 'sk_causes' });
      const error = await store.get(hashSessionId(generateSessionId())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(printed(error)).toMatch(/Access denied/);
      expect(printed(error)).not.toContain(secret);
    }
  });
});

describe('redaction of causes', () => {
  it('redactText drops URL passwords and password=/secret=/token= values, keeps the rest', () => {
    expect(redactText('connect to redis://admin:hunter2@10.0.0.1:6379/0 failed')).toBe(
      `connect to redis://admin:${REDACTED}@10.0.0.1:6379/0 failed`,
    );
    expect(redactText('postgres://u:p%40ss@db/x and mysql://root:@h')).toBe(
      `postgres://u:${REDACTED}@db/x and mysql://root:${REDACTED}@h`,
    );
    expect(redactText("host=db user=app password='s3 cret' sslmode=require")).toBe(
      `host=db user=app password=${REDACTED} sslmode=require`,
    );
    expect(redactText('https://h/cb?token=abc&x=1&api_key=zzz')).toBe(
      `https://h/cb?token=${REDACTED}&x=1&api_key=${REDACTED}`,
    );
    expect(redactText('{"user":"a","password":"p\\"w","secret": "s"}')).toBe(
      `{"user":"a","password":"${REDACTED}","secret": "${REDACTED}"}`,
    );
    for (const kept of [
      "Access denied for user 'root'@'localhost' (using password: YES)",
      'connect ECONNREFUSED 127.0.0.1:6379',
      'https://example.com/path?q=1',
    ]) {
      expect(redactText(kept)).toBe(kept);
    }
  });

  it('a StoreError scrubs its cause in place: message, stack, nested causes, AggregateError members, Redis command args', () => {
    const inner = new Error('auth failed for redis://u:innersecret@h');
    const member = Object.assign(new Error('password=membersecret'), { code: 'EAUTH' });
    const cause = Object.assign(
      new Error('dial postgres://app:topsecret@db:5432/x', { cause: inner }),
      {
        code: 'ECONNRESET',
        command: { name: 'evalsha', args: ['sha', '1', 'key', '{"m":{"csrf":"csrfsecret"}}'] },
        details: { url: 'mysql://root:detailsecret@h/db' },
      },
    );
    const aggregate = new AggregateError([member], 'several failed');
    const wrapped = toStoreError('redis', 'set', cause) as StoreError;
    const again = new StoreError('The redis session store failed during get.', {
      cause: aggregate,
    });
    expect(wrapped.cause).toBe(cause); // same object, same class and code
    expect(cause.code).toBe('ECONNRESET');
    expect(cause.command.args).toEqual([REDACTED, REDACTED, REDACTED, REDACTED]);
    const text = `${printed(wrapped)}\n${printed(again)}`;
    for (const secret of [
      'topsecret',
      'innersecret',
      'membersecret',
      'csrfsecret',
      'detailsecret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('dial postgres://app:');
    expect(text).toContain('EAUTH');
  });

  it('redactedCopy (a failed connection): known secrets and patterns cut, only name, code and message kept', () => {
    const source = Object.assign(
      new Error('WRONGPASS for p4ss-w0rd at mysql://root:x@h, p4ss-w0rd'),
      {
        name: 'ReplyError',
        code: 'WRONGPASS',
        command: { name: 'hello', args: ['3', 'AUTH', 'default', 'p4ss-w0rd'] },
      },
    );
    const copy = redactedCopy(source, ['', 'p4ss-w0rd']);
    expect(copy).not.toBe(source);
    expect(copy.name).toBe('ReplyError');
    expect(copy.message).toBe(
      `WRONGPASS for ${REDACTED} at mysql://root:${REDACTED}@h, ${REDACTED}`,
    );
    expect(copy.stack).toBe(`ReplyError: ${copy.message}`);
    expect(Object.keys(copy)).toEqual(['name', 'code']); // no `command`
    expect((copy as Error & { code?: unknown }).code).toBe('WRONGPASS');
    expect(source.message).toContain('p4ss-w0rd'); // the original is left as it was
    const fromString = redactedCopy('refused: s3cret', ['s3cret']);
    expect([fromString.name, fromString.message]).toEqual(['Error', `refused: ${REDACTED}`]);
    expect(Object.keys(redactedCopy(Object.assign(new Error('x'), { code: {} }), []))).toEqual([
      'name',
    ]);
  });

  it('never throws on odd causes: frozen errors, throwing getters, cycles, non-errors', () => {
    const frozen = Object.freeze(new Error('postgres://u:frozensecret@h'));
    const getter = Object.defineProperty(new Error('x'), 'boom', {
      get() {
        throw new Error('no');
      },
      enumerable: true,
    });
    const cyclic: Record<string, unknown> = { message: 'password=cyclesecret' };
    cyclic.self = cyclic;
    for (const cause of [frozen, getter, cyclic, 'redis://u:str@h', 42, null, undefined]) {
      expect(() => new StoreError('The store failed.', { cause })).not.toThrow();
      expect(() => redactError(cause)).not.toThrow();
    }
  });
});
