/**
 * What a request costs Redis, counted by Redis: `INFO commandstats` deltas on a private
 * redis-server (no other test file disturbs the counts), which count `EVALSHA` and every command
 * its script runs; and the commands the client sent (each an awaited round trip). A session
 * read is one command; a write is the read plus one script of two commands (4 commands, 2 round
 * trips), signed in too — the index needs no update while the user and the expiry's bucket stay
 * (the manager's clock stands still here, so every write's expiry stays in one bucket).
 */

import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/adapters/node.js';
import { REDIS_SCRIPTS, redisStore } from '../../src/stores/redis.js';
import { testManager } from '../support/manager.js';
import { cli, freePort, killAll, spawnRedis, until } from '../support/redis-servers.js';
import { cookieOf, keepAliveAgent, listenLocal, send } from '../support/torture-app.js';

const agent = keepAliveAgent();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  agent.destroy();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A private redis-server and a client on it, or the reason there is none. */
async function privateRedis(): Promise<Redis | string> {
  try {
    const port = await freePort();
    const server = spawnRedis([
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    cleanups.push(() => killAll([server]));
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    cleanups.push(() => client.disconnect());
    // Wait for the server first, then connect once: a failed connect() leaves ioredis
    // reconnecting on its own, and a second connect() then rejects ("already connecting").
    await until(() => cli(port, 'PING'), 100);
    await client.connect();
    return client;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('Redis commands per request', () => {
  it('a read is 1 command; a write is 4 commands in 2 round trips, signed in with no ZADD', async (ctx) => {
    const redis = await privateRedis();
    if (typeof redis === 'string') {
      if (process.env.CI === 'true') throw new Error(`no private redis-server: ${redis}`);
      return ctx.skip(`no private redis-server (${redis})`);
    }
    // As on a long-running server: the scripts are cached (EVALSHA, no NOSCRIPT + EVAL).
    for (const { source } of Object.values(REDIS_SCRIPTS)) await redis.script('LOAD', source);
    const admin = redis.duplicate();
    cleanups.push(() => admin.disconnect());
    let sent = 0;
    const store = redisStore({
      prefix: 'cmd:',
      client: {
        call: (command, ...args) => {
          sent++;
          return redis.call(command, ...args);
        },
      },
    });
    const now = Date.now();
    const manager = testManager({ store, now: () => now });
    const app = await listenLocal(
      withSession(manager, async (req, res, session) => {
        const route = `${req.method} ${req.url}`;
        if (route === 'POST /login') session.login('alice');
        else if (route === 'POST /write')
          session.set('n', Number((await session.get('n')) ?? 0) + 1);
        else await session.get('n');
        res.end('ok');
      }),
    );
    cleanups.push(() => app.close());

    const commandstats = async () => {
      const text = (await admin.info('commandstats')) as string;
      const calls = new Map<string, number>();
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        calls.set(m[1]!, Number(m[2]));
      calls.delete('info'); // the counting connection's own
      return calls;
    };
    let cookie: string | undefined;
    const cost = async (method: string, path: string) => {
      const [before, calls] = [await commandstats(), sent];
      const reply = await send(agent, app.url, method, path, cookie);
      expect(reply.status).toBe(200);
      cookie = cookieOf(reply) ?? cookie;
      const after = await commandstats();
      const commands: Record<string, number> = {};
      for (const [name, n] of after) {
        if (n !== (before.get(name) ?? 0)) commands[name] = n - (before.get(name) ?? 0);
      }
      return { roundTrips: sent - calls, commands };
    };
    const total = (commands: Record<string, number>) =>
      Object.values(commands).reduce((a, b) => a + b, 0);
    const write = { roundTrips: 2, commands: { get: 2, evalsha: 1, set: 1 } };

    // A new anonymous session: nothing to read, one script creates it.
    expect(await cost('POST', '/write')).toEqual({
      roundTrips: 1,
      commands: { evalsha: 1, get: 1, set: 1 },
    });
    expect(await cost('GET', '/read')).toEqual({ roundTrips: 1, commands: { get: 1 } });
    expect(await cost('POST', '/write')).toEqual(write);
    // Sign-in: the session and the user's revocation record read, the new record created with
    // its index entry in one script, the old record deleted by another.
    expect(await cost('POST', '/login')).toEqual({
      roundTrips: 4,
      commands: { get: 4, evalsha: 2, zadd: 1, set: 1, del: 1 },
    });
    // Signed in, the core also reads the user's revocation record (one GET, `generation.ts`)
    // once it has the session's user id; the session's own write stays GET + one script.
    expect(await cost('GET', '/read')).toEqual({ roundTrips: 2, commands: { get: 2 } });
    for (let i = 0; i < 3; i++) {
      const signedIn = await cost('POST', '/write');
      expect(signedIn).toEqual({ roundTrips: 3, commands: { get: 3, evalsha: 1, set: 1 } });
      expect(total(signedIn.commands) - 1).toBeLessThanOrEqual(4);
    }
    await expect(store.listByUser!('alice')).resolves.toHaveLength(1);
  });
});
