/**
 * Shared by the Redis store's tests (`redis.test.ts`, `redis-specifics.ts`, `redis-legacy.ts`):
 * the client flavour shape, Cluster slots as Redis computes them, a `MONITOR` capture of the
 * commands a store sends, records written in the previous (hash) layout with raw commands, and
 * {@link sharedRedis}: one file's ioredis client on the shared server and its prefixes' cleanup.
 */

import { createHash, randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { StoreRecord } from '../../src/core/store.js';
import { decodeRecord } from '../../src/stores/_redis-record.js';
import type { RedisClientLike } from '../../src/stores/redis.js';
import { REDIS_URL } from '../support/backends.js';

/** A raw command on either client flavour. */
export type Raw = (...args: (string | number)[]) => Promise<unknown>;

export interface Flavour {
  name: string;
  /** A connected client; throws quickly when Redis is unreachable. */
  connect(): Promise<{ client: RedisClientLike; raw: Raw; quit(): Promise<unknown> }>;
  /** A client aimed at a closed port that rejects every command quickly. */
  broken(): Promise<RedisClientLike>;
  /** Cluster flavours: store-specific tests run against the cluster instead of MONITOR ones. */
  cluster?: true;
  /** A client with the fail-fast, reconnecting settings `docs/stores/redis.md` recommends. */
  recommended?(url: string): Promise<{ client: RedisClientLike; quit(): Promise<unknown> }>;
}

/** A connected flavour. */
export type Connection = Awaited<ReturnType<Flavour['connect']>>;

/** Redis Cluster key slot: CRC16 (XMODEM) of the hash tag (or the whole key) mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

/** The hash tag of a user's index, as the store computes it. */
export const tagOf = (userId: string) => createHash('sha256').update(userId).digest('base64url');

/**
 * Run `fn` and return every command (with its arguments) that clients other than Lua sent with
 * one of the prefix's keys, seen through `MONITOR`; with `lua`, also those the scripts ran, their
 * names prefixed with `>`. A marker command sent afterwards on the
 * store's own connection tells when all of them have been seen.
 *
 * `MONITOR` is read on a plain socket: ioredis's monitor mode can mistake a monitor line that
 * arrives in the same packet as MONITOR's `+OK` for a reply to a command it never sent ("Command
 * queue state error", an unhandled error) when other test files keep the server busy.
 */
export async function monitored(
  raw: Raw,
  prefix: string,
  fn: () => Promise<unknown>,
  { lua = false }: { lua?: boolean } = {},
): Promise<string[][]> {
  const { hostname, port } = new URL(REDIS_URL);
  const socket = connectTcp(Number(port || 6379), hostname);
  const marker = `sessionkit-marker-${randomBytes(8).toString('hex')}`;
  const seen: string[][] = [];
  let ready: () => void = () => {};
  let finish: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\r\n');
    while (end !== -1) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\r\n');
      if (line === '+OK') ready();
      const parsed = parseMonitorLine(line);
      if (parsed === undefined) continue;
      const [source, args] = parsed;
      if (args[0]?.toUpperCase() === 'ECHO' && args[1] === marker) finish();
      else if (!args.some((arg) => arg.startsWith(prefix))) continue;
      else if (source !== 'lua') seen.push(args);
      else if (lua) seen.push([`>${args[0]}`, ...args.slice(1)]);
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write('MONITOR\r\n');
    await started;
    await fn();
    await raw('ECHO', marker);
    await done;
  } finally {
    socket.destroy();
  }
  return seen;
}

/** `+1700000000.123456 [0 127.0.0.1:5000] "CMD" "arg"` → [source, args]; other lines → undefined. */
export function parseMonitorLine(line: string): [string, string[]] | undefined {
  const head = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (head === null) return undefined;
  const args: string[] = [];
  const quoted = /"((?:[^"\\]|\\.)*)"/g;
  for (const match of line.slice(head[0].length).matchAll(quoted)) {
    args.push(
      (match[1] ?? '').replace(/\\(x[0-9a-f]{2}|.)/g, (_, esc: string) =>
        esc.length === 3
          ? String.fromCharCode(Number.parseInt(esc.slice(1), 16))
          : (({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[esc] ??
            esc),
      ),
    );
  }
  return [head[1] ?? '', args];
}

/**
 * Write `record` under `key` as the previous version of the store did: a hash (`d`, `v`, `e`,
 * `u` — `''` when anonymous) with `PEXPIREAT`, indexed with its exact expiry. Redis keeps the key
 * until `pexpireAt` (default: its expiry, at least a minute ahead, so a record already expired
 * by the store clock is still there).
 */
export async function writeLegacy(
  raw: Raw,
  prefix: string,
  key: string,
  record: StoreRecord,
  pexpireAt: number = Math.max(Math.ceil(record.expiresAt), Date.now() + 60_000),
): Promise<void> {
  const rk = `${prefix}s:{${key}}`;
  if (record.userId !== null) {
    await raw('ZADD', `${prefix}u:{${tagOf(record.userId)}}`, record.expiresAt, key);
  }
  const { data, version, expiresAt, userId } = record;
  await raw('HSET', rk, 'd', data, 'v', version, 'e', expiresAt, 'u', userId ?? '');
  await raw('PEXPIREAT', rk, pexpireAt);
}

/**
 * Rewrite every record under `prefix` in the previous layout (as if the previous version had
 * written it), keeping each key's expiry; resolves how many. Index entries stay as they are.
 */
export async function rewriteAsLegacy(raw: Raw, prefix: string): Promise<number> {
  let n = 0;
  for (const name of await scanAll(raw, `${prefix}s:{*}`)) {
    const record = decodeRecord(await raw('GET', name), Number.NEGATIVE_INFINITY);
    if (record === undefined) continue;
    const pexpireAt = Number(await raw('PEXPIRETIME', name));
    await raw('DEL', name);
    await writeLegacy(raw, prefix, name.slice(prefix.length + 3, -1), record, pexpireAt);
    n++;
  }
  return n;
}

/**
 * Every key matching `pattern`: SCAN followed to cursor 0. One SCAN call answers one slice of
 * the keyspace only, so a test that stops after it misses keys whenever the database holds many
 * (other suites' keys share the server).
 */
export async function scanAll(raw: Raw, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, names] = (await raw('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [
      string,
      string[],
    ];
    cursor = String(next);
    found.push(...names);
  } while (cursor !== '0');
  return found;
}

/** The error `fn` throws, or `undefined`. */
export function configError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** One test file's connection to the shared Redis: see {@link sharedRedis}. */
export interface SharedRedis {
  /** The file's ioredis client (connected from `beforeAll` on). */
  readonly client: Redis;
  /** A raw command on that client. */
  readonly raw: Raw;
  /** A fresh `sktest:<random>:` prefix, its keys deleted after the file's tests. */
  prefix(): string;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that connect one ioredis client to the shared Redis at
 * `REDIS_URL` (one retry per command, errors left to the commands), run `ready` on it, and at the
 * end delete every key under the prefixes handed out by {@link SharedRedis.prefix} and quit.
 */
export function sharedRedis(ready?: (raw: Raw) => Promise<unknown>): SharedRedis {
  let client: Redis | undefined;
  const prefixes: string[] = [];
  const shared: SharedRedis = {
    get client() {
      if (client === undefined) throw new Error('sharedRedis: used before beforeAll connected it');
      return client;
    },
    raw: (cmd, ...args) => shared.client.call(String(cmd), ...args),
    prefix() {
      const prefix = `sktest:${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      return prefix;
    },
  };
  beforeAll(async () => {
    client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    await client.connect();
    await ready?.(shared.raw);
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const names = await scanAll(shared.raw, `${prefix}*`);
      for (let i = 0; i < names.length; i += 500)
        await shared.raw('DEL', ...names.slice(i, i + 500));
    }
    await client?.quit();
  });
  return shared;
}
