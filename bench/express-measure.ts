/**
 * `node --import tsx bench/express-measure.ts [options] <contender>[:<store>] …` — load-independent
 * figures of one contender server over real HTTP: instructions, bytes allocated and garbage
 * collections per request, for the scenarios of `npm run bench` (A untouched, B read, C write).
 * Made for the Express write path (issue 12), where CPU timings on the shared machine swing too
 * much to compare builds; not part of `npm run bench`.
 *
 * Each measurement starts the contender itself (`bench/contenders/<name>.ts`, the very server
 * `npm run bench` runs, `NODE_ENV=production`) in its own process with one V8 thread and a fixed
 * 8 MiB young generation (`--single-threaded --{min,max}-semi-space-size=8`), creates one session
 * (`POST /init`), sends `--warmup` requests of the scenario and then the measured ones, one at a
 * time on one keep-alive connection from this process (a raw socket: the client's own work is
 * not in the server's figures), then stops it with SIGTERM.
 *
 * - bytes allocated per request: the sampling heap profiler, keeping collected objects, started
 *   after the warm-up (`bench/measure-probe.ts`), summed over the measured requests;
 * - scavenges and mark-compacts per 1000 requests (`--trace-gc`): a run with the measured
 *   requests minus a run without them;
 * - with `--callgrind`: instructions per request under `valgrind --tool=callgrind`, the same
 *   subtraction (slow: a few thousand requests are plenty, the count repeats to within ~0.5 %);
 * - with `--cpu-prof <dir>`: a CPU profile of the measured requests of each measurement, and the
 *   functions with the most self time.
 *
 * Options: `--scenarios ABC`, `--heap-top N` (the N allocation sites with the most bytes per
 * request), `--heap-only` (no GC counts), `--requests N` (default 10000), `--warmup N` (default 3000),
 * `--callgrind-requests N` (default 3000), `--callgrind-toggle` (count only the measured requests:
 * instrumentation is switched on after the warm-up, so one run and no subtraction — use a warm-up
 * of ~20 000 so that compilation is over), `--skip-heap`, `--callgrind-keep <dir>` (keep both callgrind outputs,
 * with node's `--perf-basic-prof` map of JIT code beside each, for `bench/callgrind-diff.ts`: which
 * functions the measured requests spent their instructions in). Contenders: `bare-express`, `sessionkit-express:memory`,
 * `sessionkit-express:redis`, `bare-node`, `sessionkit-node:redis`, … Loads sessionkit from
 * `BENCH_SESSIONKIT_DIR` (a `tsc -p tsconfig.build.json` output, as a `file://` URL) like the
 * harness, else from `src/` through tsx (whose per-closure wrappers inflate the figures).
 */

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const ROOT = resolve(import.meta.dirname, '..');
const V8_FLAGS = ['--single-threaded', '--max-semi-space-size=8', '--min-semi-space-size=8'];
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUTES = { A: ['GET', '/a'], B: ['GET', '/b'], C: ['POST', '/c'] } as const;
type Scenario = keyof typeof ROUTES;

/** One HTTP/1.1 response as the driver needs it. */
interface Reply {
  status: number;
  head: string;
}

/** A keep-alive connection sending one request at a time and reading exactly one response. */
class Connection {
  private buffer = '';
  private waiting: ((reply: Reply) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.parse();
    });
    socket.on('error', (error) => this.failed?.(error));
  }

  static open(port: number): Promise<Connection> {
    return new Promise((ok, fail) => {
      const socket = connect(port, '127.0.0.1', () => ok(new Connection(socket)));
      socket.once('error', fail);
    });
  }

  request(method: string, path: string, cookie: string | undefined): Promise<Reply> {
    const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1'];
    if (cookie !== undefined) lines.push(`cookie: ${cookie}`);
    if (method === 'POST') lines.push('content-length: 0');
    return new Promise((ok, fail) => {
      this.waiting = ok;
      this.failed = fail;
      this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = this.buffer.slice(0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let size: number;
    if (length !== null) size = end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', end);
      if (last === -1) return;
      size = last + 7;
    } else size = end + 4;
    if (this.buffer.length < size) return;
    this.buffer = this.buffer.slice(size);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ status: Number(head.slice(9, 12)), head });
  }
}

/** What to run: the contender file, its store, the scenario and how many requests. */
interface Run {
  contender: string;
  store: string;
  scenario: Scenario;
  warmup: number;
  requests: number;
  valgrind?: string;
  /**
   * With {@link Run.valgrind}: count only the measured requests (instrumentation switched on after
   * the warm-up with `callgrind_control -i on`, off after them), so no subtraction is needed.
   */
  toggle?: boolean;
  /** With {@link Run.valgrind}: also write node's perf map of JIT code to this file. */
  perfMap?: string;
  probe?: { kind: 'heap' | 'cpu'; out: string };
}

/** What one run of a server saw. */
interface Outcome {
  scavenges: number;
  markCompacts: number;
  instructions: number | undefined;
}

/** Start the server of `run`, drive it, stop it; its GC counts and instruction count. */
async function drive(run: Run, prefix: string): Promise<Outcome> {
  const node = [
    ...V8_FLAGS,
    ...(run.perfMap === undefined ? [] : ['--perf-basic-prof']),
    '--trace-gc',
    '--import',
    'tsx',
    ...(run.probe === undefined ? [] : ['--import', './bench/measure-probe.ts']),
    join(ROOT, 'bench', 'contenders', `${run.contender}.ts`),
  ];
  const [command, args] =
    run.valgrind === undefined
      ? [process.execPath, node]
      : [
          'valgrind',
          [
            '--tool=callgrind',
            ...(run.toggle === true ? ['--instr-atstart=no'] : []),
            `--callgrind-out-file=${run.valgrind}`,
            process.execPath,
            ...node,
          ],
        ];
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_SECRET: '5f0c8e2a9d41b7c3e6a18f4d2b90c57e31a6d8f4029bc7e5a1d3f6b8c0e2a4d9',
      BENCH_STORE: run.store,
      BENCH_PREFIX: prefix,
      ...(run.probe === undefined
        ? {}
        : { MEASURE_PROBE: run.probe.kind, MEASURE_OUT: run.probe.out }),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', ok));
  try {
    const port = await until(
      () => /^\{"port":(\d+)\}$/m.exec(stdout)?.[1],
      exited,
      () => stderr,
    );
    const connection = await Connection.open(Number(port));
    const init = await connection.request('POST', '/init', undefined);
    const cookie = [...init.head.matchAll(/\r\nset-cookie: *([^;\r]*)/gi)]
      .map((m) => m[1])
      .join('; ');
    const [method, path] = ROUTES[run.scenario];
    const send = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const reply = await connection.request(
          method,
          path,
          run.scenario === 'A' ? undefined : cookie,
        );
        if (reply.status !== 200) throw new Error(`${method} ${path}: ${reply.head}`);
      }
    };
    await send(run.warmup);
    if (run.probe !== undefined) {
      child.kill('SIGUSR2');
      await until(
        () => (stderr.includes('started\n') ? true : undefined),
        exited,
        () => stderr,
      );
    }
    const instrument = (on: boolean): void => {
      if (run.toggle === true) {
        execFileSync('callgrind_control', ['-i', on ? 'on' : 'off', String(child.pid)], {
          stdio: 'ignore',
        });
      }
    };
    instrument(true);
    await send(run.requests);
    instrument(false);
    connection.close();
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${run.contender} exited with ${code}\n${stderr}`);
  if (run.perfMap !== undefined && child.pid !== undefined) {
    // valgrind runs node in its own process: the map is named after the child's pid.
    copyFileSync(`/tmp/perf-${child.pid}.map`, run.perfMap);
    rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
  }
  return {
    scavenges: count(stdout, /Scavenge/g),
    markCompacts: count(stdout, /Mark-Compact/g),
    instructions:
      run.valgrind === undefined
        ? undefined
        : // With instrumentation off at the start, callgrind's `summary:` says 0: read `totals:`.
          Number(/^totals: (\d+)/m.exec(readFileSync(run.valgrind, 'utf8'))?.[1]),
  };
}

/** Poll until `value()` is defined; fail when the child exits first. */
async function until<T>(
  value: () => T | undefined,
  exited: Promise<number | null>,
  log: () => string,
): Promise<T> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (;;) {
    const found = value();
    if (found !== undefined) return found;
    if (gone) throw new Error(`server exited early\n${log()}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/** Bytes in a sampling heap profile (every sample's self size, the whole tree). */
function heapBytes(file: string): number {
  type Node = { selfSize: number; children: Node[] };
  const sum = (n: Node): number => n.selfSize + n.children.reduce((t, c) => t + sum(c), 0);
  return sum((JSON.parse(readFileSync(file, 'utf8')) as { head: Node }).head);
}

/** The `top` allocation sites (function and line) of a sampling heap profile, as lines. */
function topAllocations(file: string, top: number, requests: number): string[] {
  type Node = {
    selfSize: number;
    children: Node[];
    callFrame: { functionName: string; url: string; lineNumber: number };
  };
  const bySite = new Map<string, number>();
  const walk = (node: Node): void => {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk((JSON.parse(readFileSync(file, 'utf8')) as { head: Node }).head);
  return [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, bytes]) => `  ${String(Math.round(bytes / requests)).padStart(6)} B  ${key}`);
}

function shortUrl(url: string): string {
  return url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|dist|bench)\//, '$1/');
}

/** The `top` functions by self time in a CPU profile, as lines. */
function topSelf(file: string, top: number): string[] {
  type Node = {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[] };
  const byName = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    byName.set(key, (byName.get(key) ?? 0) + hits);
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, hits]) => `  ${((100 * hits) / total).toFixed(1).padStart(5)} %  ${key}`);
}

const { values, positionals: targets } = parseArgs({
  allowPositionals: true,
  options: {
    scenarios: { type: 'string', default: 'ABC' },
    requests: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '3000' },
    callgrind: { type: 'boolean', default: false },
    'callgrind-toggle': { type: 'boolean', default: false },
    'skip-heap': { type: 'boolean', default: false },
    'callgrind-requests': { type: 'string', default: '3000' },
    'callgrind-keep': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'heap-top': { type: 'string', default: '0' },
    'heap-only': { type: 'boolean', default: false },
  },
});
const scenarios = [...values.scenarios] as Scenario[];
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const callgrindRequests = Number(values['callgrind-requests']);
const cpuDir = values['cpu-prof'];

const scratch = mkdtempSync(join(tmpdir(), 'express-measure-'));
const prefix = `measure:${randomBytes(6).toString('hex')}:`;
try {
  for (const target of targets) {
    const [contender = '', store = 'memory'] = target.split(':');
    for (const scenario of scenarios) {
      const base = { contender, store, scenario, warmup };
      const heapFile = join(scratch, 'heap.json');
      let line = `${target} ${scenario}:`;
      let sites: string[] = [];
      if (!values['skip-heap']) {
        await drive({ ...base, requests, probe: { kind: 'heap', out: heapFile } }, prefix);
        const bytes = heapBytes(heapFile) / requests;
        const heapTop = Number(values['heap-top']);
        sites = heapTop > 0 ? topAllocations(heapFile, heapTop, requests) : [];
        line += ` ${Math.round(bytes)} bytes/req`;
      }
      if (!values['heap-only']) {
        const idle = await drive({ ...base, requests: 0 }, prefix);
        const busy = await drive({ ...base, requests }, prefix);
        const per1000 = (n: number) => ((n * 1000) / requests).toFixed(2);
        line +=
          `, ${per1000(busy.scavenges - idle.scavenges)} scavenges and ` +
          `${per1000(busy.markCompacts - idle.markCompacts)} mark-compacts per 1000 req`;
      }
      if (values.callgrind) {
        const keep = values['callgrind-keep'];
        if (keep !== undefined) mkdirSync(keep, { recursive: true });
        const files = (n: number) => {
          const name = `${contender}-${store}-${scenario}.${n}`;
          return keep === undefined
            ? { valgrind: join(scratch, 'callgrind.out') }
            : { valgrind: join(keep, `${name}.callgrind`), perfMap: join(keep, `${name}.map`) };
        };
        const toggle = values['callgrind-toggle'];
        const i0 = toggle
          ? { instructions: 0 }
          : await drive({ ...base, requests: 0, ...files(0) }, prefix);
        const i1 = await drive(
          { ...base, requests: callgrindRequests, toggle, ...files(1) },
          prefix,
        );
        const per = ((i1.instructions ?? 0) - (i0.instructions ?? 0)) / callgrindRequests;
        line += `, ${Math.round(per)} instructions/req`;
      }
      process.stdout.write(`${[line, ...sites].join('\n')}\n`);
      if (cpuDir !== undefined) {
        const file = join(resolve(cpuDir), `${contender}-${store}-${scenario}.cpuprofile`);
        await drive({ ...base, requests, probe: { kind: 'cpu', out: file } }, prefix);
        process.stdout.write(`${topSelf(file, 25).join('\n')}\n  (profile: ${file})\n`);
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // No Redis (memory-only runs): nothing to clean.
  } finally {
    redis.disconnect();
  }
}
