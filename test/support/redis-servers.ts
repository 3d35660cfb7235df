/**
 * Private Redis servers for the Redis store tests, started from the local `redis-server` binary
 * on free 127.0.0.1 ports with nothing persisted (`--save '' --appendonly no`, temp dirs): the
 * port and wait helpers, {@link startRedisCluster} — three masters — and
 * {@link startSentinelGroup} — a primary, a replica and three Sentinels — with a deterministic
 * forced failover. Every process is killed by
 * the `stop()` the caller runs in `afterAll`.
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

/** `true` when a `redis-server` binary is on the PATH. */
export const HAS_REDIS_SERVER: boolean = spawnSync('redis-server', ['--version']).status === 0;

/** A free TCP port on 127.0.0.1 (asked from the OS; free when this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `true` when `port` can be listened on at 127.0.0.1 right now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().listen(port, '127.0.0.1', () =>
      server.close(() => resolve(true)),
    );
    server.on('error', () => resolve(false));
  });
}

/**
 * Retry `fn` every 50 ms until it resolves; rejects with its last error after `attempts` tries.
 * For waiting on servers and topology changes, never as a timing assertion.
 */
export async function until<T>(fn: () => Promise<T>, attempts = 200): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** One command through `redis-cli` against 127.0.0.1:`port`; resolves its stdout. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('redis-cli', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    ...args,
  ]);
  return stdout;
}

/** Spawn `redis-server` with `args` (strings), output discarded. */
export function spawnRedis(args: readonly (string | number)[]): ChildProcess {
  const child = spawn('redis-server', args.map(String), { stdio: 'ignore' });
  child.on('error', () => {}); // a missing binary surfaces as the readiness wait failing
  return child;
}

/** Kill `children` and wait until each has exited. */
export async function killAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

/** A three-master Redis Cluster on 127.0.0.1. */
export interface RedisCluster {
  /** The masters' ports. */
  readonly ports: readonly number[];
  /** Kill every node and remove the temp dir. */
  stop(): Promise<void>;
}

/**
 * Start a {@link RedisCluster} from the local `redis-server` binary (data in a temp dir, nothing
 * persisted); resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'sessionkit-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await killAll(children);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await freePort();
      // The cluster bus listens on port + 10000.
      if (port < 55_000 && (await isFree(port + 10_000)) && !ports.includes(port)) ports.push(port);
    }
    for (const port of ports) {
      const args = ['--port', port, '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
      args.push('--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no');
      children.push(spawnRedis([...args, '--dir', dir]));
    }
    await until(async () => {
      for (const port of ports) await cli(port, 'PING');
    });
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await promisify(execFile)('redis-cli', [
      '--cluster',
      'create',
      ...nodes,
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await until(async () => {
      for (const port of ports) {
        if (!(await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'))
          throw new Error('not ok yet');
      }
    });
    return { ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A primary, a replica and three Sentinels watching them, on 127.0.0.1. */
export interface SentinelGroup {
  /** The monitored master name. */
  readonly name: string;
  /** The Sentinels, as clients want them. */
  readonly sentinels: readonly { host: string; port: number }[];
  /** The two data nodes' ports; `[0]` was the primary at start. */
  readonly nodes: readonly [number, number];
  /** The port the Sentinels currently name as the primary. */
  primary(): Promise<number>;
  /**
   * Wait until the replica holds everything the primary has, then `SENTINEL FAILOVER`, and
   * resolve once every Sentinel has announced `+switch-master`, the new primary reports the
   * master role and the old one reports itself its connected replica. Resolves both ports.
   */
  failover(): Promise<{ from: number; to: number }>;
  /** Kill every process and remove the temp dir. */
  stop(): Promise<void>;
}

const MASTER = 'skmaster';

/**
 * Start a {@link SentinelGroup}. Three Sentinels with quorum 2 are the smallest group a real
 * deployment runs, and the clients get the topology from any of them. `down-after-milliseconds`
 * is 60 s so a loaded machine never fails over on its own: only `failover()` moves the primary.
 * Rejects (after killing what started) when the servers do not come up.
 */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'sessionkit-redis-sentinel-'));
  const children: ChildProcess[] = [];
  const admins: Redis[] = [];
  const admin = (port: number) => {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    admins.push(client);
    return client;
  };
  const stop = async () => {
    for (const client of admins) client.disconnect();
    await killAll(children);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await distinctPorts(5);
    const [first, second, ...sentinelPorts] = ports as [number, number, ...number[]];
    const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    children.push(spawnRedis(['--port', first, ...base]));
    children.push(spawnRedis(['--port', second, ...base, '--replicaof', '127.0.0.1', first]));
    for (const port of sentinelPorts) {
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(file, sentinelConf(port, dir, first));
      children.push(spawnRedis([file, '--sentinel']));
    }
    const data = new Map(ports.slice(0, 2).map((port) => [port, admin(port)]));
    const sentinels = sentinelPorts.map(admin);
    const node = (port: number) => data.get(port)!;
    const primary = async () => {
      const addr = (await sentinels[0]!.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as
        | string[]
        | null;
      return Number(addr?.[1]);
    };
    /** Every Sentinel sees `replica` as a healthy replica of the primary, and the other two. */
    const settled = (replica: number) =>
      until(async () => {
        for (const sentinel of sentinels) {
          const replicas = fields(await sentinel.call('SENTINEL', 'REPLICAS', MASTER));
          const seen = replicas.find((r) => r.port === String(replica));
          if (seen?.flags !== 'slave' || seen['master-link-status'] !== 'ok') {
            throw new Error(`replica ${replica} not yet seen healthy by every Sentinel`);
          }
          if (fields(await sentinel.call('SENTINEL', 'SENTINELS', MASTER)).length !== 2) {
            throw new Error('the Sentinels have not discovered each other yet');
          }
        }
      }, 1200);
    await settled(second);

    const failover = async () => {
      const from = await primary();
      const to = from === first ? second : first;
      await settled(to);
      await until(async () => {
        const [p, r] = [await offset(node(from)), await offset(node(to))];
        if (p !== r) throw new Error(`replica behind: ${r} < ${p}`);
      });
      const switched = sentinelPorts.map((port) => switchMaster(port, to, admins));
      await Promise.all(switched.map((s) => s.subscribed));
      await sentinels[0]!.call('SENTINEL', 'FAILOVER', MASTER);
      await Promise.all(switched.map((s) => s.seen));
      await until(async () => {
        const role = (await node(to).call('ROLE')) as unknown[];
        const old = (await node(from).call('ROLE')) as unknown[];
        if (role[0] !== 'master') throw new Error('new primary not promoted yet');
        if (old[0] !== 'slave' || Number(old[2]) !== to || old[3] !== 'connected') {
          throw new Error('old primary not yet a connected replica of the new one');
        }
      }, 1200);
      return { from, to };
    };
    return {
      name: MASTER,
      sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      nodes: [first, second],
      primary,
      failover,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function sentinelConf(port: number, dir: string, primary: number): string {
  return [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    `sentinel monitor ${MASTER} 127.0.0.1 ${primary} 2`,
    `sentinel down-after-milliseconds ${MASTER} 60000`,
    `sentinel failover-timeout ${MASTER} 30000`,
    `sentinel parallel-syncs ${MASTER} 1`,
    '',
  ].join('\n');
}

/** `count` distinct free ports. */
async function distinctPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** A node's replication offset as it reports it (a replica: how far it has applied). */
async function offset(client: Redis): Promise<number> {
  const info = String(await client.call('INFO', 'replication'));
  return Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** Subscribe to one Sentinel's `+switch-master`; `seen` resolves when it names `to` as primary. */
function switchMaster(port: number, to: number, admins: Redis[]) {
  const sub = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  sub.on('error', () => {});
  admins.push(sub);
  let resolveSeen!: () => void;
  const seen = new Promise<void>((resolve) => {
    resolveSeen = resolve;
  });
  sub.on('message', (_channel: string, message: string) => {
    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
    const parts = message.split(' ');
    if (parts[0] === MASTER && Number(parts[4]) === to) {
      resolveSeen();
      sub.disconnect();
    }
  });
  const subscribed = sub.connect().then(() => sub.subscribe('+switch-master'));
  return { subscribed, seen };
}

/** A `SENTINEL REPLICAS`/`SENTINELS` reply (flat field/value arrays) as objects. */
function fields(reply: unknown): Record<string, string>[] {
  return (reply as string[][]).map((flat) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
    return out;
  });
}
