/**
 * Type test (checked by `tsc --noEmit`, never run): real ioredis (`Redis`, `Cluster`) and
 * node-redis (`createClient`, `createCluster`, `createSentinel`) clients satisfy
 * `RedisClientLike`, and a client of the wrong shape is refused.
 */

import type { Cluster, Redis } from 'ioredis';
import type { createClient, createCluster, createSentinel } from 'redis';
import { expectTypeOf } from 'vitest';
import { type RedisClientLike, redisStore } from '../../src/stores/redis.js';

declare const ioredis: Redis;
declare const ioredisCluster: Cluster;
declare const nodeRedis: ReturnType<typeof createClient>;
declare const nodeRedisCluster: ReturnType<typeof createCluster>;
declare const nodeRedisSentinel: ReturnType<typeof createSentinel>;

expectTypeOf(ioredis).toExtend<RedisClientLike>();
expectTypeOf(ioredisCluster).toExtend<RedisClientLike>();
expectTypeOf(nodeRedis).toExtend<RedisClientLike>();
expectTypeOf(nodeRedisCluster).toExtend<RedisClientLike>();
expectTypeOf(nodeRedisSentinel).toExtend<RedisClientLike>();
export const stores: ReturnType<typeof redisStore>[] = [
  redisStore({ client: ioredis }),
  redisStore({ client: ioredisCluster, prefix: 'app:' }),
  redisStore({ client: nodeRedis }),
  redisStore({ client: nodeRedisCluster }),
  redisStore({ client: nodeRedisSentinel }),
];

// A key-value client with its own API but no raw-command entry point is not a Redis client.
const keyValue = {
  get: async (_key: string) => null,
  set: async (_key: string, _v: string) => 'OK',
};
// @ts-expect-error -- neither `call` nor `sendCommand`
redisStore({ client: keyValue });
// @ts-expect-error -- `call` must return a promise (a callback-style client does not fit)
redisStore({ client: { call: (_command: string, ..._args: (string | number)[]): void => {} } });
// @ts-expect-error -- `sendCommand` takes the command as an array of strings
redisStore({ client: { sendCommand: async (_command: number) => null } });
// @ts-expect-error -- the prefix is a string
redisStore({ client: ioredis, prefix: 1 });
