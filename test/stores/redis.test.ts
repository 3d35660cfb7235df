import { createHash, randomBytes } from 'node:crypto';
import { connect as connectTcp, createServer, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import {
  type IoredisClientLike,
  REDIS_SCRIPTS,
  type RedisClientLike,
  redisStore,
} from '../../src/stores/redis.js';
import { REDIS_URL } from '../support/backends.js';
import {
  cli,
  HAS_REDIS_SERVER,
  type RedisCluster,
  startRedisCluster,
  until,
} from '../support/redis-servers.js';
import {
  collect,
  describeStore,
  HOUR,
  record,
  type StoreSuiteContext,
  storeKey,
} from './conformance.js';

/** A raw command on either client flavour. */
type Raw = (...args: (string | number)[]) => Promise<unknown>;

interface Flavour {
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

/** A TCP proxy to Redis that a test can cut (every connection dropped, port closed) and resume. */
async function tcpProxy(target: number) {
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = connectTcp(target, '127.0.0.1');
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  return {
    port,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
    resume: () => listen(port),
  };
}

for (const flavour of FLAVOURS) {
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
    extra: (ctx) =>
      flavour.cluster
        ? clusterSpecifics(ctx, connect, newPrefix)
        : specifics(ctx, connect, newPrefix, flavour.recommended!),
  });
}

/** Redis Cluster key slot: CRC16 (XMODEM) of the hash tag (or the whole key) mod 16384. */
function keySlot(key: string): number {
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

const tagOf = (userId: string) => createHash('sha256').update(userId).digest('base64url');

/**
 * Run `fn` and return every command (with its arguments) that clients other than Lua sent with
 * one of the prefix's keys, seen through `MONITOR`. A marker command sent afterwards on the
 * store's own connection tells when all of them have been seen.
 *
 * `MONITOR` is read on a plain socket: ioredis's monitor mode can mistake a monitor line that
 * arrives in the same packet as MONITOR's `+OK` for a reply to a command it never sent ("Command
 * queue state error", an unhandled error) when other test files keep the server busy.
 */
async function monitored(
  raw: Raw,
  prefix: string,
  fn: () => Promise<unknown>,
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
      else if (source !== 'lua' && args.some((arg) => arg.startsWith(prefix))) seen.push(args);
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
function parseMonitorLine(line: string): [string, string[]] | undefined {
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

type Connection = Awaited<ReturnType<Flavour['connect']>>;

function specifics(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
  recommended: NonNullable<Flavour['recommended']>,
): void {
  /** A tracked store on the flavour's shared client (or `client`), under a fresh prefix. */
  const make = async (client?: RedisClientLike) => {
    const { client: shared, raw } = await connect();
    const prefix = newPrefix();
    const store = ctx.track(redisStore({ client: client ?? shared, prefix }));
    return { store, prefix, raw };
  };
  const later = () => Date.now() + HOUR;

  describe('redis specifics', () => {
    it('lays out keys under the prefix: one hash tag per record (+ lock), one per user', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const user = 'alice@example.com';
      const written = record({ data: 'd', version: 4, userId: user, expiresAt: later() });
      await store.set(key, written);
      await store.lock!(key, { owner: 'o', ttl: 10_000 });
      const [, keys] = (await raw('SCAN', 0, 'MATCH', `${prefix}*`, 'COUNT', 1000)) as [
        string,
        string[],
      ];
      const [rk, lk, uk] = [
        `${prefix}s:{${key}}`,
        `${prefix}l:{${key}}`,
        `${prefix}u:{${tagOf(user)}}`,
      ];
      expect([...keys].sort()).toEqual([lk, rk, uk].sort());
      expect(keys.join(' ')).not.toContain(user);
      expect([await raw('TYPE', rk), await raw('TYPE', lk), await raw('TYPE', uk)]).toEqual([
        'hash',
        'string',
        'zset',
      ]);
      expect(await raw('HMGET', rk, 'd', 'v', 'e', 'u')).toEqual([
        'd',
        '4',
        String(written.expiresAt),
        user,
      ]);
      expect(await raw('HLEN', rk)).toBe(4);
      expect(await raw('ZSCORE', uk, key)).toEqual(expect.anything());
      expect(Number(await raw('ZSCORE', uk, key))).toBe(written.expiresAt);
      // The record and its lock share the key's slot; the index sits in the user's own slot.
      expect(keySlot(rk)).toBe(keySlot(key));
      expect(keySlot(lk)).toBe(keySlot(key));
      expect(keySlot(uk)).toBe(keySlot(tagOf(user)));
    });

    it('computes Cluster slots like Redis (known vectors)', () => {
      expect(keySlot('foo')).toBe(12_182);
      expect(keySlot('bar')).toBe(5061);
      expect(keySlot('123456789')).toBe(0x31c3 % 16_384);
      expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    });

    it('expires records natively at expiresAt; touch moves only the expiry', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const rk = `${prefix}s:{${key}}`;
      const first = record({ data: 'kept', userId: 'u', expiresAt: later() });
      await store.set(key, first);
      expect(await raw('PEXPIRETIME', rk)).toBe(first.expiresAt);
      expect(await raw('PTTL', rk)).toBeGreaterThan(0);
      const moved = first.expiresAt + HOUR;
      await expect(store.touch(key, moved)).resolves.toBe(true);
      expect(await raw('PEXPIRETIME', rk)).toBe(moved);
      expect(await raw('HMGET', rk, 'd', 'v', 'e')).toEqual(['kept', '1', String(moved)]);
      // A fractional expiry is kept exactly; Redis gets the next whole millisecond.
      await store.touch(key, moved + 0.5);
      expect(await raw('PEXPIRETIME', rk)).toBe(moved + 1);
      await expect(store.get(key)).resolves.toMatchObject({ expiresAt: moved + 0.5 });
      // Writing or touching into the past deletes the key instead of keeping a dead one.
      await store.touch(key, Date.now() - 1000);
      expect(await raw('EXISTS', rk)).toBe(0);
      await store.set(key, record({ expiresAt: later() }));
      await store.set(key, record({ expiresAt: Date.now() - 1000 }));
      expect(await raw('EXISTS', rk)).toBe(0);
      await store.lock!(key, { owner: 'o', ttl: 5000 });
      const pttl = Number(await raw('PTTL', `${prefix}l:{${key}}`));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5000);
    });

    it('registers only single-key Lua scripts that take keys and values as parameters', () => {
      const names = Object.keys(REDIS_SCRIPTS).sort();
      expect(names).toEqual(['delete', 'lock', 'set', 'touch', 'unindex', 'unlock']);
      for (const [name, { source, sha }] of Object.entries(REDIS_SCRIPTS)) {
        expect(sha, name).toBe(createHash('sha1').update(source).digest('hex'));
        const keyRefs = source.match(/KEYS\[[^\]]*\]/g) ?? [];
        expect(keyRefs.length, name).toBeGreaterThan(0);
        expect(new Set(keyRefs), name).toEqual(new Set(['KEYS[1]']));
        // Every redis.call names KEYS[1] (or `k`, bound to KEYS[1]) as its key: never an ARGV.
        const calls = [...source.matchAll(/redis\.call\('(\w+)', ([^,)]+)/g)];
        expect(calls.length, name).toBeGreaterThan(0);
        if (/\bk\b/.test(source)) expect(source, name).toMatch(/^local k\b[^\n]*= KEYS\[1\]/);
        for (const [, , key] of calls) expect(['KEYS[1]', 'k'], `${name}: ${key}`).toContain(key);
        // No key layout, quoting or concatenation that could smuggle a value into the text.
        expect(source, name).not.toMatch(/sessionkit|\.\.|:\{|redis\.sha1hex|loadstring/);
      }
    });

    it('sends one key per command, scripts with numkeys 1, and no value inside script text', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const user = 'user-secret-4711';
      const owner = 'owner-secret-0815';
      const data = 'payload-secret-1234';
      const seen = await monitored(raw, prefix, async () => {
        await store.set(key, record({ data, userId: user }), { ifVersion: 0 });
        await store.set(key, record({ data, userId: user, version: 2 }), { ifVersion: 1 });
        await store.get(key);
        await store.touch(key, later());
        await store.lock!(key, { owner, ttl: 1000 });
        await store.unlock!(key, { owner });
        await store.listByUser!(user);
        await collect(store.ids!());
        await store.prune!();
        await store.deleteByUser!(user, { except: [storeKey()] });
        await store.set(key, record({ data, userId: user }));
        await store.delete(key, { ifVersion: 1 });
      });
      const shas = new Set(Object.values(REDIS_SCRIPTS).map((s) => s.sha));
      const sources = new Set(Object.values(REDIS_SCRIPTS).map((s) => s.source));
      const names = new Set(seen.map(([name]) => name!.toUpperCase()));
      expect([...names].sort()).toEqual(['EVALSHA', 'HMGET', 'SCAN', 'ZADD', 'ZRANGE', 'ZREM']);
      for (const [name, ...args] of seen) {
        const command = name!.toUpperCase();
        if (command === 'SCAN') continue; // keyless: its MATCH pattern carries the prefix
        if (command === 'EVALSHA' || command === 'EVAL') {
          const [script, numkeys, ...rest] = args as [string, string, ...string[]];
          expect(command === 'EVAL' ? sources.has(script) : shas.has(script)).toBe(true);
          for (const secret of [key, user, owner, data]) expect(script).not.toContain(secret);
          expect(numkeys, `${command} ${args.join(' ')}`).toBe('1');
          expect(rest[0]!.startsWith(prefix)).toBe(true);
          // Every other argument is a value: none of them names a key of the store.
          for (const value of rest.slice(1)) expect(value.startsWith(prefix)).toBe(false);
        } else {
          // Single-key commands: the key, then members/fields/values that are never keys.
          expect(args[0]!.startsWith(prefix), `${command} ${args[0]}`).toBe(true);
          for (const value of args.slice(1)) expect(value.startsWith(prefix)).toBe(false);
        }
      }
    });

    it('costs one command per get, two for an unmodified read plus touch', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      await store.set(key, record({ userId: 'u', expiresAt: later() }));
      await store.touch(key, later()); // loads the script into the server's cache, if needed
      const commands = async (fn: () => Promise<unknown>) =>
        (await monitored(raw, prefix, fn)).map(([name]) => name!.toUpperCase());
      expect(await commands(() => store.get(key))).toEqual(['HMGET']);
      expect(await commands(() => store.get(storeKey()))).toEqual(['HMGET']);
      expect(
        await commands(async () => {
          await store.get(key);
          await store.touch(key, later());
        }),
      ).toEqual(['HMGET', 'EVALSHA']);
      const anonymous = storeKey();
      expect(await commands(() => store.set(anonymous, record()))).toEqual(['EVALSHA']);
      expect(
        await commands(() => store.set(key, record({ userId: 'u', version: 2 }), { ifVersion: 1 })),
      ).toEqual(['ZADD', 'EVALSHA']);
      expect(await commands(() => store.delete(anonymous))).toEqual(['EVALSHA']);
      expect(await commands(() => store.delete(key))).toEqual(['EVALSHA', 'ZREM']);
    });

    it('falls back to EVAL when the server has lost a script (NOSCRIPT), and wraps other errors', async () => {
      const { raw } = await connect();
      const sent: string[] = [];
      // A fault injector over the real connection: the first EVALSHA asks for an unknown script.
      const client: IoredisClientLike = {
        call: (command, ...args) => {
          sent.push(command);
          if (command === 'EVALSHA' && sent.length === 1)
            return raw(command, '0'.repeat(40), ...args.slice(1));
          return raw(command, ...args);
        },
      };
      const { store, prefix } = await make(client);
      const key = storeKey();
      const written = record({ data: 'after NOSCRIPT' });
      await expect(store.set(key, written)).resolves.toBe(true);
      expect(sent).toEqual(['EVALSHA', 'EVAL']);
      await expect(store.get(key)).resolves.toStrictEqual(written);
      // A foreign value of another type under the record key: WRONGTYPE becomes a StoreError.
      const other = storeKey();
      await raw('SET', `${prefix}s:{${other}}`, 'not a hash');
      const error = await store.set(other, record()).catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect(String((error as Error).cause)).toMatch(/WRONGTYPE/);
      expect((error as Error).message).not.toContain(other);
      await expect(store.get(other)).rejects.toMatchObject({ code: 'ERR_SESSION_STORE' });
    });

    it('drops dangling index entries lazily, but keeps one whose write may be in flight', async () => {
      const { store, prefix, raw } = await make();
      const uk = `${prefix}u:{${tagOf('u')}}`;
      const [live, vanished, inFlight] = [storeKey(), storeKey(), storeKey()];
      await store.set(live, record({ userId: 'u' }));
      // A record Redis expired on its own: its index entry is scored with its (past) expiry.
      await raw('ZADD', uk, Date.now() - 1000, vanished);
      // A write in flight: indexed (score ahead), the record itself not written yet.
      await raw('ZADD', uk, later(), inFlight);
      expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([live]);
      expect(await raw('ZSCORE', uk, vanished)).toBeNull();
      expect(await raw('ZSCORE', uk, inFlight)).not.toBeNull();
      await store.set(inFlight, record({ userId: 'u' }));
      expect((await store.listByUser!('u')).map((e) => e.key).sort()).toEqual(
        [live, inFlight].sort(),
      );
      // A record that moved to another user leaves the old user's index at the next listing.
      await store.set(live, record({ userId: 'v', version: 2 }));
      expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([inFlight]);
      expect(await raw('ZSCORE', uk, live)).toBeNull();
    });

    it('prune removes index entries of vanished records and keeps touched live ones', async () => {
      const { store, prefix, raw } = await make();
      const uk = `${prefix}u:{${tagOf('u')}}`;
      const [touched, vanished] = [storeKey(), storeKey()];
      await store.set(touched, record({ userId: 'u' }));
      // Indexed with an expiry that has passed, but touch kept the record alive since.
      await raw('ZADD', uk, Date.now() - 1000, touched);
      await raw('ZADD', uk, Date.now() - 1000, vanished);
      await raw('ZADD', `${prefix}u:{${tagOf('w')}}`, Date.now() - 1000, storeKey());
      await expect(store.prune!()).resolves.toBe(2);
      expect(await raw('ZRANGE', uk, 0, -1)).toEqual([touched]);
      expect(await raw('EXISTS', `${prefix}u:{${tagOf('w')}}`)).toBe(0);
      await expect(store.listByUser!('u')).resolves.toMatchObject([{ key: touched }]);
      await expect(store.prune!()).resolves.toBe(0);
    });

    it('refuses a bad prefix or client with ERR_SESSION_CONFIG naming the option', async () => {
      const { client } = await connect();
      for (const prefix of ['{tag}', 'a*', 'a?', '[a]', 'a\\b', 'a b', 'é', 'x'.repeat(65), 7]) {
        const error = configError(() => redisStore({ client, prefix: prefix as string }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), String(prefix)).toBe(true);
        expect((error as Error).message).toContain('`prefix`');
      }
      for (const bad of [undefined, null, {}, { get: async () => null }, { sendCommand: 'x' }]) {
        const error = configError(() => redisStore({ client: bad as never }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(bad)).toBe(true);
        expect((error as Error).message).toContain('`client`');
      }
      expect(
        isSessionError(
          configError(() => redisStore(undefined as never)),
          'ERR_SESSION_CONFIG',
        ),
      ).toBe(true);
    });

    it('fails fast with StoreError while Redis is unreachable and recovers when it is back', async () => {
      const proxy = await tcpProxy(Number(new URL(REDIS_URL).port || 6379));
      const { client, quit } = await recommended(`redis://127.0.0.1:${proxy.port}`);
      try {
        const { store } = await make(client);
        const key = storeKey();
        const written = record({ userId: 'outage-user' });
        await store.set(key, written);
        await proxy.cut();
        const calls: [string, () => Promise<unknown>][] = [
          ['get', () => store.get(key)],
          ['set', () => store.set(key, record({ version: 2 }), { ifVersion: 1 })],
          ['touch', () => store.touch(key, later())],
          ['delete', () => store.delete(key)],
          ['lock', () => store.lock!(key, { owner: 'o', ttl: 1000 })],
          ['listByUser', () => store.listByUser!('outage-user')],
        ];
        for (const [name, call] of calls) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isSessionError(error, 'ERR_SESSION_STORE'), `${name}: ${String(error)}`).toBe(
            true,
          );
        }
        await proxy.resume();
        // The client reconnects on its own; the record came through the outage untouched.
        await until(() =>
          store.get(key).then((r) => (r ? r : Promise.reject(new Error('missing')))),
        );
        await expect(store.get(key)).resolves.toStrictEqual(written);
        await expect(store.listByUser!('outage-user')).resolves.toMatchObject([{ key }]);
      } finally {
        await quit();
        await proxy.cut();
      }
    });

    it("uses 'sessionkit:' as the default prefix", async () => {
      const { client, raw } = await connect();
      const store = ctx.track(redisStore({ client }));
      const key = storeKey();
      try {
        await store.set(key, record());
        expect(await raw('EXISTS', `sessionkit:s:{${key}}`)).toBe(1);
      } finally {
        await store.delete(key);
      }
    });
  });
}

function clusterSpecifics(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
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
  });
}

function configError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
