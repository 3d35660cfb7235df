/**
 * The Redis store through Redis Sentinel, for real: a private primary + replica watched by three
 * Sentinels (test/support/redis-servers.ts), the whole conformance suite through an ioredis
 * Sentinel client and a node-redis `createSentinel()` client, and a forced `SENTINEL FAILOVER`
 * in the middle of each run. Records written before the failover are checked afterwards, with
 * compare-and-set, locks and the per-user index. Without a `redis-server` binary the suites are
 * skipped visibly, and under `CI=true` they fail.
 */

import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { SessionStore, StoreRecord } from '../../src/core/store.js';
import { type RedisClientLike, redisStore } from '../../src/stores/redis.js';
import {
  HAS_REDIS_SERVER,
  type SentinelGroup,
  startSentinelGroup,
  until,
} from '../support/redis-servers.js';
import { describeStore, HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';

// A forced failover waits for Sentinel to demote the old primary (about 10 s, more when loaded).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

/**
 * The `create()` call (counted from the suite's availability probe) that first fails the
 * primary over: about the middle of the suite, so half of it runs on each node.
 */
const FAILOVER_AT = 48;

type Raw = (...args: (string | number)[]) => Promise<unknown>;
interface Connection {
  client: RedisClientLike;
  raw: Raw;
  quit(): Promise<unknown>;
}
interface Flavour {
  name: string;
  connect(group: SentinelGroup): Promise<Connection>;
  broken(group: SentinelGroup): Promise<RedisClientLike>;
}

const FLAVOURS: Flavour[] = [
  {
    name: 'ioredis Sentinel',
    async connect(group) {
      const client = new Redis({
        name: group.name,
        sentinels: [...group.sentinels],
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(times * 50, 500),
        // Subscribe to +switch-master and reconnect at once instead of at the next error.
        failoverDetector: true,
      });
      client.on('error', () => {});
      await client.connect();
      return {
        client,
        raw: (cmd, ...args) => client.call(String(cmd), ...args),
        quit: async () => client.disconnect(),
      };
    },
    async broken(group) {
      const client = new Redis({
        name: group.name,
        sentinels: [{ host: '127.0.0.1', port: 1 }],
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        sentinelRetryStrategy: () => null,
      });
      client.on('error', () => {});
      return client;
    },
  },
  {
    name: 'node-redis Sentinel',
    async connect(group) {
      const client = createSentinel({
        name: group.name,
        sentinelRootNodes: [...group.sentinels],
        nodeClientOptions: {
          disableOfflineQueue: true,
          socket: { connectTimeout: 2000, reconnectStrategy: (n) => Math.min(n * 50, 500) },
        },
      });
      client.on('error', () => {});
      await client.connect();
      return {
        client,
        raw: (...args) => client.sendCommand(false, args.map(String)),
        quit: () => client.destroy(),
      };
    },
    async broken(group) {
      // Connected, then destroyed: every command fails at once. (Aimed at a dead Sentinel,
      // node-redis 6.3 spends ~17 s in connect() before giving up.)
      const client = createSentinel({ name: group.name, sentinelRootNodes: [...group.sentinels] });
      client.on('error', () => {});
      await client.connect();
      await client.destroy();
      return client;
    },
  },
];

let groupStart: Promise<SentinelGroup> | undefined;
const sentinelGroup = (): Promise<SentinelGroup> => {
  groupStart ??= HAS_REDIS_SERVER
    ? startSentinelGroup()
    : Promise.reject(new Error('no redis-server binary to start a Sentinel group'));
  return groupStart;
};
const connections: Promise<Connection>[] = [];
afterAll(async () => {
  for (const connection of connections) await (await connection.catch(() => undefined))?.quit();
  await (await groupStart?.catch(() => undefined))?.stop();
});

/** What the mid-run failover left behind for the check after it. */
interface Witness {
  from: number;
  to: number;
  prefix: string;
  records: Map<string, StoreRecord>;
  locked: string;
}

for (const flavour of FLAVOURS) {
  let connection: Promise<Connection> | undefined;
  const connect = () => {
    if (connection === undefined) {
      connection = sentinelGroup().then((group) => flavour.connect(group));
      connections.push(connection);
    }
    return connection;
  };
  let creates = 0;
  let witness: Promise<Witness> | undefined;
  const failOver = () => {
    witness ??= connect().then(async ({ client, raw }) => writeAndFailOver(client, raw));
    return witness;
  };

  describeStore({
    name: `redis (${flavour.name})`,
    create: async () => {
      const { client } = await connect();
      creates += 1;
      if (creates === FAILOVER_AT) await failOver();
      return redisStore({ client, prefix: `sktest:${storeKey().slice(0, 12)}:` });
    },
    createBroken: async () => redisStore({ client: await flavour.broken(await sentinelGroup()) }),
    extra: (ctx) => afterFailover(ctx, connect, () => ({ creates, witness })),
  });
}

/**
 * Write witness records (anonymous, with a user, locked) and wait until the replica has them,
 * fail the primary over, then wait until the client talks to the new primary.
 */
async function writeAndFailOver(client: RedisClientLike, raw: Raw): Promise<Witness> {
  const group = await sentinelGroup();
  const prefix = `witness:${storeKey().slice(0, 12)}:`;
  const store = redisStore({ client, prefix });
  const later = Date.now() + HOUR;
  const records = new Map<string, StoreRecord>([
    [storeKey(), record({ data: 'anonymous', expiresAt: later })],
    [storeKey(), record({ data: 'd\u0000é', version: 3, userId: 'w-user', expiresAt: later })],
    [storeKey(), record({ data: 'second', version: 1, userId: 'w-user', expiresAt: later + 1 })],
  ]);
  for (const [key, rec] of records) expect(await store.set(key, rec, { ifVersion: 0 })).toBe(true);
  const locked = [...records.keys()][1]!;
  expect(await store.lock!(locked, { owner: 'holder', ttl: 10 * 60_000 })).toBe(true);

  const { from, to } = await group.failover();
  // The client was disconnected by Sentinel; wait until it is back, on the new primary.
  await until(async () => {
    const info = String(await raw('INFO', 'server'));
    if (!info.includes(`tcp_port:${to}\r\n`)) throw new Error('client not on the new primary');
  }, 1200);
  return { from, to, prefix, records, locked };
}

function afterFailover(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  progress: () => { creates: number; witness: Promise<Witness> | undefined },
): void {
  describe('sentinel failover', () => {
    it('after a forced failover mid-run: earlier records readable, CAS, locks and index intact, new writes land', async () => {
      const { creates, witness } = progress();
      // The suite failed over at its FAILOVER_AT-th store and went on (not so when run alone).
      expect(creates, 'stores created by the suite').toBeGreaterThan(FAILOVER_AT);
      const { from, to, prefix, records, locked } = await witness!;
      const group = await sentinelGroup();
      expect(to).not.toBe(from);
      expect(await group.primary()).toBe(to);

      const { client } = await connect();
      const store: SessionStore = ctx.track(redisStore({ client, prefix }));
      for (const [key, rec] of records) expect(await store.get(key)).toStrictEqual(rec);

      const [anonymous, withUser, second] = [...records.keys()] as [string, string, string];
      const next = (version: number) => record({ data: 'next', version, userId: 'w-user' });
      // Stale or absent preconditions are refused; exactly one of two racing CAS writers wins.
      expect(await store.set(withUser, next(9), { ifVersion: 2 })).toBe(false);
      expect(await store.set(anonymous, next(9), { ifVersion: 0 })).toBe(false);
      const race = await Promise.all([
        store.set(withUser, next(4), { ifVersion: 3 }),
        store.set(withUser, next(4), { ifVersion: 3 }),
      ]);
      expect(race.filter(Boolean)).toHaveLength(1);
      expect(await store.get(withUser)).toMatchObject({ data: 'next', version: 4 });
      expect(await store.delete(second, { ifVersion: 7 })).toBe(false);

      // The lease taken before the failover is still held, and only by its owner.
      expect(await store.lock!(locked, { owner: 'intruder', ttl: 1000 })).toBe(false);
      expect(await store.unlock!(locked, { owner: 'holder' })).toBe(true);
      expect(await store.lock!(locked, { owner: 'intruder', ttl: 1000 })).toBe(true);

      const listed = (await store.listByUser!('w-user')).map((entry) => entry.key).sort();
      expect(listed).toEqual([withUser, second].sort());

      const fresh = storeKey();
      const written = record({ data: 'after failover', userId: 'w-user' });
      expect(await store.set(fresh, written, { ifVersion: 0 })).toBe(true);
      expect(await store.get(fresh)).toStrictEqual(written);
      expect(await store.deleteByUser!('w-user', { except: [fresh] })).toBe(2);
      expect(await store.get(second)).toBeUndefined();
    });
  });
}
