/**
 * Redis store tests on a real three-master Cluster (both Cluster clients): slots as Redis
 * computes them, records spread over the masters, commands and round trips per write counted by
 * the servers (`INFO commandstats` on every node), and the fallback of a standalone client that
 * finds itself talking to a cluster node (CROSSSLOT → the index is written by its own command).
 */

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  type IoredisClientLike,
  REDIS_SCRIPTS,
  type RedisClientLike,
  redisStore,
} from '../../src/stores/redis.js';
import { cli } from '../support/redis-servers.js';
import { collect, HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';
import { type Connection, keySlot, tagOf } from './redis-helpers.js';

/** Commands that are not the store's: the counting itself and the clients' topology checks. */
const NOT_THE_STORE = new Set([
  'info',
  'cluster',
  'ping',
  'client',
  'command',
  'readonly',
  'hello',
]);

/** Every node's command counts, summed. */
async function commandstats(ports: readonly number[]): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const port of ports) {
    const text = await cli(port, 'INFO', 'commandstats');
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (!NOT_THE_STORE.has(m[1]!)) calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + Number(m[2]));
    }
  }
  return calls;
}

/** `client` with every command it sends counted (each one is a round trip when awaited). */
function counted(client: RedisClientLike): { client: RedisClientLike; sent: () => number } {
  let sent = 0;
  const c = client as IoredisClientLike & {
    sendCommand(key: unknown, ro: unknown, args: string[]): Promise<unknown>;
    masters: readonly unknown[];
    nodeClient(node: unknown): Promise<unknown>;
  };
  const wrapped =
    typeof c.call === 'function'
      ? {
          call: (command: string, ...args: (string | number)[]) => {
            sent++;
            return c.call(command, ...args);
          },
          nodes: (role: 'master') => c.nodes!(role),
        }
      : {
          sendCommand: (key: unknown, ro: unknown, args: string[]) => {
            sent++;
            return c.sendCommand(key, ro, args);
          },
          masters: c.masters,
          nodeClient: (node: unknown) => c.nodeClient(node),
        };
  return { client: wrapped as RedisClientLike, sent: () => sent };
}

/** Define the Cluster tests inside the flavour's conformance suite. */
export function clusterSpecifics(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
  redisCluster: () => Promise<readonly number[]>,
): void {
  describe('redis cluster specifics', () => {
    it('spreads records over the masters; a record, its lock and an index share a slot each as Redis computes it', async () => {
      const { client } = await connect();
      const prefix = newPrefix();
      const store = ctx.track(redisStore({ client, prefix }));
      const ports = await redisCluster();
      const keys = Array.from({ length: 12 }, storeKey);
      for (const key of keys) {
        await store.set(key, record({ userId: `user-${key.slice(0, 4)}` }));
        await store.lock!(key, { owner: 'o', ttl: 10_000 });
      }
      for (const key of keys) {
        const names = [`${prefix}s:{${key}}`, `${prefix}l:{${key}}`];
        const slots = await Promise.all(
          names.map(async (name) => Number(await cli(ports[0]!, 'CLUSTER', 'KEYSLOT', name))),
        );
        expect(slots).toEqual([keySlot(key), keySlot(key)]);
        const index = `${prefix}u:{${tagOf(`user-${key.slice(0, 4)}`)}}`;
        expect(Number(await cli(ports[0]!, 'CLUSTER', 'KEYSLOT', index))).toBe(keySlot(index));
      }
      const perNode = await Promise.all(
        ports.map(async (port) => Number(await cli(port, 'DBSIZE'))),
      );
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
      expect((await collect(store.ids!())).sort()).toEqual([...keys].sort());
    });

    it('a signed-in write costs 2 round trips and 4 commands; the index goes first when due', async () => {
      const ports = await redisCluster();
      for (const port of ports) {
        for (const { source } of Object.values(REDIS_SCRIPTS))
          await cli(port, 'SCRIPT', 'LOAD', source);
      }
      const { client, sent } = counted((await connect()).client);
      const store = ctx.track(redisStore({ client, prefix: newPrefix() }));
      const cost = async (fn: () => Promise<unknown>) => {
        const [before, calls] = [await commandstats(ports), sent()];
        await fn();
        const after = await commandstats(ports);
        const commands: Record<string, number> = {};
        for (const [name, n] of after) {
          if (n !== (before.get(name) ?? 0)) commands[name] = n - (before.get(name) ?? 0);
        }
        return { roundTrips: sent() - calls, commands };
      };
      const key = storeKey();
      // Early in an index bucket, so the writes below stay inside it.
      const expiresAt = (Math.floor(Date.now() / HOUR) + 2) * HOUR + 1;
      const rmw = (version: number, userId: string) =>
        cost(async () => {
          const current = await store.get(key);
          expect(current?.version ?? 0).toBe(version - 1);
          const next = record({ version, userId, expiresAt: expiresAt + version });
          await expect(store.set(key, next, { ifVersion: version - 1 })).resolves.toBe(true);
        });
      // Sign-in (a create): the index entry first, then the script.
      await expect(rmw(1, 'alice')).resolves.toEqual({
        roundTrips: 3,
        commands: { get: 2, zadd: 1, evalsha: 1, set: 1 },
      });
      // Every later write in the bucket: the read, then one script (GET + SET inside).
      for (const version of [2, 3, 4]) {
        await expect(rmw(version, 'alice')).resolves.toEqual({
          roundTrips: 2,
          commands: { get: 2, evalsha: 1, set: 1 },
        });
      }
      // A new user on a replace: the script asks for the index first, then runs again.
      await expect(rmw(5, 'bob')).resolves.toEqual({
        roundTrips: 4,
        commands: { get: 3, evalsha: 2, zadd: 1, set: 1 },
      });
      await expect(store.listByUser!('bob')).resolves.toMatchObject([{ key }]);
    });

    it('a standalone client on a cluster node falls back to a separate index write on CROSSSLOT', async () => {
      const ports = await redisCluster();
      const plain = new Redis({ host: '127.0.0.1', port: ports[0]!, lazyConnect: true });
      plain.on('error', () => {});
      await plain.connect();
      try {
        const owned = (await plain.call('CLUSTER', 'SLOTS')) as [
          number,
          number,
          [string, number],
        ][];
        const mine = owned.filter(([, , [, port]]) => port === ports[0]);
        const here = (name: string) =>
          mine.some(([from, to]) => keySlot(name) >= from && keySlot(name) <= to);
        const prefix = newPrefix();
        let key = storeKey();
        while (!here(`${prefix}s:{${key}}`)) key = storeKey();
        let user = 'u0';
        for (let i = 1; !here(`${prefix}u:{${tagOf(user)}}`); i++) user = `u${i}`;
        expect(keySlot(`${prefix}u:{${tagOf(user)}}`)).not.toBe(keySlot(`${prefix}s:{${key}}`));
        const sent: string[] = [];
        const client: IoredisClientLike = {
          call: (command, ...args) => {
            sent.push(`${command} ${command === 'EVALSHA' || command === 'EVAL' ? args[1] : ''}`);
            return plain.call(command, ...args);
          },
        };
        const store = ctx.track(redisStore({ client, prefix }));
        await expect(store.set(key, record({ userId: user }))).resolves.toBe(true);
        await expect(
          store.set(key, record({ userId: user, version: 2 }), { ifVersion: 1 }),
        ).resolves.toBe(true);
        await expect(store.listByUser!(user)).resolves.toMatchObject([
          { key, record: { version: 2 } },
        ]);
        // One refused two-key script, then never again: the index by its own command.
        expect(sent.filter((s) => s.endsWith(' 2'))).toHaveLength(1);
        expect(sent).toContain('ZADD ');
      } finally {
        plain.disconnect();
      }
    });
  });
}
