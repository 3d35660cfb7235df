/**
 * `node --import tsx bench/redis-clients.ts [pairs] [concurrency]` — what the Redis client itself
 * costs: the client-side CPU (`process.cpuUsage`, this process only) per pair of commands a
 * session write sends — a `GET`, then an `EVALSHA` of a script that reads and `SET … PXAT`s the
 * key with a 200-byte value — from `concurrency` loops at once (default 50, the bench's
 * connection count), through ioredis with its defaults, ioredis with `enableAutoPipelining`, and
 * node-redis (connect-redis's client; commands through `sendCommand`). Each client runs a
 * warm-up round, then a measured one; the clients take turns twice. Not part of `npm run bench`:
 * it answers which client the bench gives sessionkit and the floor (docs/benchmarks.md).
 */

import { Redis } from 'ioredis';
import { createClient } from 'redis';

const PAIRS = Number(process.argv[2] ?? 40_000);
const CONCURRENCY = Number(process.argv[3] ?? 50);
const URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCRIPT = `local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1`;
const VALUE = 'x'.repeat(200);

/** One client's two commands, and how to close it. */
interface Pair {
  get(key: string): Promise<unknown>;
  cas(key: string, pxat: number): Promise<unknown>;
  close(): Promise<unknown>;
}

async function ioredis(autoPipelining: boolean): Promise<Pair> {
  const client = new Redis(URL, { enableAutoPipelining: autoPipelining });
  const sha = String(await client.call('SCRIPT', 'LOAD', SCRIPT));
  return {
    get: (key) => client.call('GET', key),
    cas: (key, pxat) => client.call('EVALSHA', sha, 1, key, VALUE, pxat),
    close: () => client.quit(),
  };
}

async function nodeRedis(): Promise<Pair> {
  const client = createClient({ url: URL });
  await client.connect();
  const sha = String(await client.sendCommand(['SCRIPT', 'LOAD', SCRIPT]));
  return {
    get: (key) => client.sendCommand(['GET', key]),
    cas: (key, pxat) => client.sendCommand(['EVALSHA', sha, '1', key, VALUE, String(pxat)]),
    close: () => client.quit(),
  };
}

/** CPU µs per pair over `PAIRS` pairs from `CONCURRENCY` loops, each on its own key. */
async function measure(pair: Pair): Promise<number> {
  let sent = 0;
  const loop = async (i: number) => {
    const key = `skbench:clients:${i}`;
    while (sent < PAIRS) {
      sent++;
      await pair.get(key);
      await pair.cas(key, Date.now() + 60_000);
    }
  };
  const started = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
  const cpu = process.cpuUsage(started);
  return (cpu.user + cpu.system) / PAIRS;
}

const CLIENTS: [string, () => Promise<Pair>][] = [
  ['ioredis (defaults)', () => ioredis(false)],
  ['ioredis (enableAutoPipelining)', () => ioredis(true)],
  ['node-redis', nodeRedis],
];

for (let turn = 0; turn < 2; turn++) {
  for (const [name, make] of CLIENTS) {
    const pair = await make();
    await measure(pair);
    const us = await measure(pair);
    await pair.close();
    process.stdout.write(`${name}: ${us.toFixed(1)} µs CPU per GET + EVALSHA\n`);
  }
}
