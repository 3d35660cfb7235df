/**
 * Private module (never in the exports map): the client shapes `redisStore` accepts (ioredis or
 * node-redis, standalone, Sentinel or Cluster) and {@link connector}, which detects the flavour
 * once and gives the store one way to send a command, one way to reach every master, and
 * whether keys of different slots may meet in one command.
 */

import { ConfigError } from '../core/errors.js';

/** One argument of a raw command. */
export type RedisArg = string | number;

/** ioredis `Redis` (standalone or Sentinel) or `Cluster` (v5, v6): raw commands via `call`. */
export interface IoredisClientLike {
  /** Send one command. */
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  /** A Cluster's nodes (used to `SCAN` every master). */
  nodes?(role: 'master'): IoredisClientLike[];
}
/** A node-redis (v4–v6) `createClient()` client. */
export interface NodeRedisClientLike {
  /** Send one command. */
  sendCommand(args: string[]): Promise<unknown>;
}
/** A node-redis `createCluster()` cluster. */
export interface NodeRedisClusterLike {
  /** Send one command to the master of `firstKey`'s slot. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  /** The masters (used to `SCAN` every master). */
  readonly masters: readonly unknown[];
  /** The client of one node. */
  nodeClient(node: unknown): Promise<NodeRedisClientLike>;
}
/** A node-redis `createSentinel()` client. */
export interface NodeRedisSentinelLike {
  /** Send one command (to the master when `isReadonly` is false). */
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The current master. */
  getMasterNode(): unknown;
}
/** A connected Redis client: ioredis or node-redis, standalone, Sentinel or Cluster. */
export type RedisClientLike =
  | IoredisClientLike
  | NodeRedisClientLike
  | NodeRedisClusterLike
  | NodeRedisSentinelLike;

/**
 * Send one command; `key` routes it to its slot's master on a Cluster. Never throws: a client
 * that throws synchronously rejects instead, so callers chain on the promise alone.
 */
export type RedisSend = (key: string | undefined, args: RedisArg[]) => Promise<unknown>;
/** Send one command to one node. */
export type RedisNodeSend = (args: RedisArg[]) => Promise<unknown>;

/** What the store needs of a client, whatever its flavour. */
export interface RedisConnector {
  /** Send one command. */
  send: RedisSend;
  /** Every master (one for standalone and Sentinel). */
  masters: () => Promise<RedisNodeSend[]>;
  /** `true` for a Cluster client: one command never spans two slots. */
  cluster: boolean;
}

/** Detect the client's flavour once. Throws `ConfigError` for a client of neither known shape. */
export function connector(client: RedisClientLike): RedisConnector {
  const c = client as Partial<IoredisClientLike & NodeRedisClusterLike & NodeRedisSentinelLike>;
  const str = (args: RedisArg[]) => args.map(String);
  if (typeof c?.call === 'function') {
    const io = client as IoredisClientLike;
    const via = (node: IoredisClientLike) => (args: RedisArg[]) =>
      node.call(String(args[0]), ...args.slice(1));
    const one = via(io);
    const cluster = typeof io.nodes === 'function';
    return {
      send: (_key, args) => settled(one, args),
      masters: async () => (cluster ? io.nodes!('master').map(via) : [one]),
      cluster,
    };
  }
  if (typeof c?.sendCommand !== 'function') {
    throw new ConfigError('redisStore: `client` must be a connected ioredis or node-redis client.');
  }
  if (typeof c.nodeClient === 'function' && c.masters !== undefined) {
    const cluster = client as NodeRedisClusterLike;
    const send = (args: RedisArg[], key?: string) => cluster.sendCommand(key, false, str(args));
    return {
      send: (key, args) => settled(send, args, key),
      masters: async () =>
        (await Promise.all(cluster.masters.map((m) => cluster.nodeClient(m)))).map(
          (node) => (args: RedisArg[]) => node.sendCommand(str(args)),
        ),
      cluster: true,
    };
  }
  const one: RedisNodeSend =
    typeof c.getMasterNode === 'function'
      ? (args) => (client as NodeRedisSentinelLike).sendCommand(false, str(args))
      : (args) => (client as NodeRedisClientLike).sendCommand(str(args));
  return { send: (_key, args) => settled(one, args), masters: async () => [one], cluster: false };
}

/** `send(args, key)`, a synchronous throw as a rejection. */
function settled(
  send: (args: RedisArg[], key?: string) => Promise<unknown>,
  args: RedisArg[],
  key?: string,
): Promise<unknown> {
  try {
    return send(args, key);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `true` when a server refused a command for the reason its message starts with (`WRONGTYPE`…). */
export function isReplyError(
  error: unknown,
  reason: 'WRONGTYPE' | 'CROSSSLOT' | 'NOSCRIPT',
): boolean {
  return String((error as Error | undefined)?.message).startsWith(reason);
}
