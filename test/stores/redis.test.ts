/**
 * The Redis store on every client flavour: the conformance suite, then the flavour's own tests
 * (`redis-specifics.ts` and `redis-index.ts` standalone, `redis-cluster.ts` on a real Cluster) and the previous
 * layout's records (`redis-legacy.ts`).
 */

import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, describe } from 'vitest';
import { redisStore } from '../../src/stores/redis.js';
import { REDIS_URL } from '../support/backends.js';
import {
  HAS_REDIS_SERVER,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-servers.js';
import { describeStore } from './conformance.js';
import { clusterSpecifics } from './redis-cluster.js';
import type { Flavour, Raw } from './redis-helpers.js';
import { indexSpecifics } from './redis-index.js';
import { legacyLayout } from './redis-legacy.js';
import { specifics } from './redis-specifics.js';

const FLAVOURS: Flavour[] = [
  {
    name: 'ioredis',
    async connect() {
      const client = new Redis(REDIS_URL, {
        lazyConnect: true,
        connectTimeout: 1000,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      await client.connect();
      await client.ping();
      return {
        client,
        raw: (cmd, ...args) => client.call(String(cmd), ...args),
        quit: () => client.quit(),
      };
    },
    async recommended(url) {
      const client = new Redis(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        commandTimeout: 2000,
        retryStrategy: (times) => Math.min(times * 50, 1000),
        lazyConnect: true,
      });
      client.on('error', () => {});
      await client.connect();
      return { client, quit: async () => client.disconnect() };
    },
    async broken() {
      const client = new Redis('redis://127.0.0.1:1', {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      return client;
    },
  },
  {
    name: 'node-redis',
    async connect() {
      const client = createClient({
        url: REDIS_URL,
        disableOfflineQueue: true,
        socket: { connectTimeout: 1000, reconnectStrategy: false },
      });
      client.on('error', () => {});
      await client.connect();
      await client.ping();
      return {
        client,
        raw: (...args) => client.sendCommand(args.map(String)),
        quit: () => client.close(),
      };
    },
    async recommended(url) {
      const client = createClient({
        url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 2000,
          reconnectStrategy: (retries) => Math.min(retries * 50, 1000),
        },
      });
      client.on('error', () => {});
      await client.connect();
      return { client, quit: async () => client.destroy() };
    },
    async broken() {
      const client = createClient({
        url: 'redis://127.0.0.1:1',
        disableOfflineQueue: true,
        socket: { connectTimeout: 200, reconnectStrategy: false },
      });
      client.on('error', () => {});
      await client.connect().catch(() => {}); // refused: the client stays closed
      return client;
    },
  },
  {
    name: 'ioredis Cluster',
    cluster: true,
    async connect() {
      const [port] = await redisCluster();
      const client = new Cluster([{ host: '127.0.0.1', port: port! }], {
        enableOfflineQueue: false,
        clusterRetryStrategy: () => null,
      });
      client.on('error', () => {});
      await new Promise((resolve, reject) => {
        client.once('ready', resolve);
        client.once('end', () => reject(new Error('the cluster connection ended')));
      });
      return {
        client,
        raw: (cmd, ...args) => client.call(String(cmd), ...args),
        quit: () => client.quit(),
      };
    },
    async broken() {
      const client = new Cluster([{ host: '127.0.0.1', port: 1 }], {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: () => null,
      });
      client.on('error', () => {});
      return client;
    },
  },
  {
    name: 'node-redis Cluster',
    cluster: true,
    async connect() {
      const [port] = await redisCluster();
      const client = createCluster({
        rootNodes: [{ url: `redis://127.0.0.1:${port}` }],
        defaults: { disableOfflineQueue: true, socket: { connectTimeout: 1000 } },
      });
      client.on('error', () => {});
      await client.connect();
      const raw: Raw = (...args) => client.sendCommand(String(args[1]), false, args.map(String));
      return { client, raw, quit: () => client.close() };
    },
    async broken() {
      const client = createCluster({
        rootNodes: [{ url: 'redis://127.0.0.1:1' }],
        defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: false } },
      });
      client.on('error', () => {});
      await client.connect().catch(() => {});
      return client;
    },
  },
];

/** A real three-master Redis Cluster, started once for this file and stopped after it. */
let cluster: Promise<RedisCluster> | undefined;
function redisCluster(): Promise<readonly number[]> {
  cluster ??= startRedisCluster();
  return cluster.then((c) => c.ports);
}
afterAll(async () => {
  if (cluster !== undefined) await (await cluster).stop();
});

// `REDIS_FLAVOURS` (comma-separated names) narrows the run to some flavours: the mutation run of
// the store's own files (vitest.mutation.redis.config.ts) keeps one standalone and one Cluster
// client, since the client flavours differ only in `_redis-client.ts`. Unset: every flavour.
const only = process.env.REDIS_FLAVOURS?.split(',');

for (const flavour of FLAVOURS) {
  if (only !== undefined && !only.includes(flavour.name)) continue;
  if (flavour.cluster && !HAS_REDIS_SERVER) {
    describe.skip(`store conformance: redis (${flavour.name}) — no redis-server binary to start a cluster`, () => {});
    continue;
  }
  let connection: ReturnType<Flavour['connect']> | undefined;
  const connect = () => {
    connection ??= flavour.connect();
    return connection;
  };
  const prefixes: string[] = [];
  const newPrefix = () => {
    const prefix = `sktest:${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    return prefix;
  };
  afterAll(async () => {
    if (connection === undefined) return;
    const c = await connection.catch(() => undefined);
    if (c === undefined) return;
    // A test cluster is thrown away whole; on the shared server, delete what the tests wrote.
    for (const prefix of flavour.cluster ? [] : prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = (await c.raw(
          'SCAN',
          cursor,
          'MATCH',
          `${prefix}*`,
          'COUNT',
          1000,
        )) as [string, string[]];
        cursor = String(next);
        if (keys.length > 0) await c.raw('DEL', ...keys);
      } while (cursor !== '0');
    }
    await c.quit();
  });

  describeStore({
    name: `redis (${flavour.name})`,
    create: async () => redisStore({ client: (await connect()).client, prefix: newPrefix() }),
    createBroken: async () => redisStore({ client: await flavour.broken(), prefix: newPrefix() }),
    extra: (ctx) => {
      if (flavour.cluster) clusterSpecifics(ctx, connect, newPrefix, redisCluster);
      else {
        specifics(ctx, connect, newPrefix, flavour.recommended!);
        indexSpecifics(ctx, connect, newPrefix);
      }
      legacyLayout(ctx, connect, newPrefix);
    },
  });
}
