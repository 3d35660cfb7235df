/**
 * Private module (never in the exports map): a connected Redis client for a `redis…://` URL —
 * ioredis or node-redis, standalone, Sentinel or Cluster — with the fail-fast settings
 * `docs/stores/redis.md` recommends: no offline queue (a request during an outage gets a 503
 * instead of waiting), reconnects with a capped backoff once connected, and a first connection
 * that gives up at once (or after `connectTimeout`) instead of retrying forever.
 */

import { ConfigError } from '../core/errors.js';
import type { RedisClientLike } from '../stores/redis.js';
import { connectError, isMissing, loadPackage, withDeadline } from './_load.js';
import type { RedisSpec } from './_url.js';

/** A connected client and how to close it. */
export interface OpenedRedis {
  client: RedisClientLike;
  close(): Promise<void>;
}

/** Reconnect delay once connected: 100 ms per attempt, at most 2 s. */
const backoff = (attempt: number): number => Math.min(attempt * 100, 2_000);

/**
 * Connect to the server(s) `spec` names with `spec.client` (or ioredis when installed, else
 * node-redis). Throws `ConfigError` when neither package is installed and `StoreError` — one
 * line with the hosts, never the password — when the connection fails.
 */
export async function openRedis(spec: RedisSpec): Promise<OpenedRedis> {
  const flavour = spec.client ?? (await installed());
  const secrets = [spec.password ?? ''];
  const opened = flavour === 'ioredis' ? await ioredis(spec) : await nodeRedis(spec);
  try {
    await withDeadline(opened.ready, spec.connectTimeout * 2);
  } catch (error) {
    opened.abort();
    // The client's last 'error' event says why (ECONNREFUSED, WRONGPASS); connect() may not.
    throw connectError(spec.where, opened.lastError() ?? error, secrets);
  }
  return { client: opened.client, close: opened.close };
}

interface Pending extends OpenedRedis {
  /** Settles when the client first answers. */
  ready: Promise<unknown>;
  /** Drop the connection at once (a failed start). */
  abort(): void;
  /** The last error the client emitted. */
  lastError(): unknown;
}

/** ioredis when it is installed, else node-redis; `ConfigError` naming both when neither is. */
async function installed(): Promise<'ioredis' | 'redis'> {
  for (const name of ['ioredis', 'redis'] as const) {
    try {
      await (name === 'ioredis' ? import('ioredis') : import('redis'));
      return name;
    } catch (error) {
      if (!isMissing(error, name)) return name; // installed but broken: loadPackage says so
    }
  }
  throw new ConfigError(
    'The redis store needs the "ioredis" or the "redis" package, and neither is installed: npm install ioredis',
  );
}

async function ioredis(spec: RedisSpec): Promise<Pending> {
  const { Redis, Cluster } = await loadPackage('redis', 'ioredis', () => import('ioredis'));
  let connected = false;
  // Until the first answer, give up instead of retrying: a wrong host fails the start at once.
  const retry = (attempt: number) => (connected ? backoff(attempt) : null);
  const auth = {
    ...(spec.username === undefined ? {} : { username: spec.username }),
    ...(spec.password === undefined ? {} : { password: spec.password }),
    ...(spec.tls ? { tls: {} } : {}),
    connectTimeout: spec.connectTimeout,
  };
  const client =
    spec.topology === 'cluster'
      ? new Cluster(spec.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: retry,
          redisOptions: { ...auth, maxRetriesPerRequest: 1 },
        })
      : new Redis({
          ...auth,
          ...(spec.topology === 'sentinel'
            ? { sentinels: spec.nodes, name: spec.master!, sentinelRetryStrategy: retry }
            : { host: spec.nodes[0]!.host, port: spec.nodes[0]!.port }),
          ...(spec.db === undefined ? {} : { db: spec.db }),
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          retryStrategy: retry,
        });
  let last: unknown;
  // Each failed command rejects with a StoreError instead; the first connection's error is kept.
  client.on('error', (error: unknown) => {
    if (!connected) last = error;
  });
  const ready = client.connect().then(async () => {
    await client.call('PING');
    connected = true;
  });
  return {
    client,
    ready,
    abort: () => client.disconnect(),
    lastError: () => last,
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

async function nodeRedis(spec: RedisSpec): Promise<Pending> {
  const redis = await loadPackage('redis', 'redis', () => import('redis'));
  let connected = false;
  const socket = {
    connectTimeout: spec.connectTimeout,
    ...(spec.tls ? { tls: true as const } : {}),
    // Returning the error ends the first connect() with it; once connected, back off and retry.
    reconnectStrategy: (attempt: number, cause: Error) => (connected ? backoff(attempt) : cause),
  };
  const auth = {
    ...(spec.username === undefined ? {} : { username: spec.username }),
    ...(spec.password === undefined ? {} : { password: spec.password }),
  };
  const nodeOptions = { ...auth, disableOfflineQueue: true, socket };
  const client =
    spec.topology === 'cluster'
      ? redis.createCluster({
          rootNodes: spec.nodes.map(({ host, port }) => ({ socket: { host, port } })),
          defaults: nodeOptions,
        })
      : spec.topology === 'sentinel'
        ? redis.createSentinel({
            name: spec.master!,
            sentinelRootNodes: spec.nodes,
            nodeClientOptions: {
              ...nodeOptions,
              ...(spec.db === undefined ? {} : { database: spec.db }),
            },
            sentinelClientOptions: { socket: { connectTimeout: spec.connectTimeout } },
          })
        : redis.createClient({
            ...nodeOptions,
            socket: { ...socket, host: spec.nodes[0]!.host, port: spec.nodes[0]!.port },
            ...(spec.db === undefined ? {} : { database: spec.db }),
          });
  let last: unknown;
  // Each failed command rejects with a StoreError instead; the first connection's error is kept.
  client.on('error', (error: unknown) => {
    if (!connected) last = error;
  });
  const ready = client.connect().then(() => {
    connected = true;
  });
  const destroy = () => {
    try {
      client.destroy();
    } catch {
      // already closed
    }
  };
  return {
    client: client as unknown as RedisClientLike,
    ready,
    abort: destroy,
    lastError: () => last,
    async close() {
      await client.close().catch(destroy);
    },
  };
}
