/**
 * `node --import tsx bench/core.ts [reads] [writes]` — the core alone, without HTTP: N reads
 * (`get('name')`) and N writes (`update('counter', n + 1)`) of one session through
 * `manager.begin()` → the session → `end()`, on the memory store, with the library's defaults
 * (merge mode, signed cookie, hashed store key, `storeTimeout` deadlines, CAS). The scenarios of
 * `npm run bench` (`B` and `C`) minus the server, so a profile or an instruction count shows the
 * core's own share.
 *
 * Made for deterministic evidence, not timings: run it under
 * `valgrind --tool=callgrind node --single-threaded …` (instruction counts: run it with `0 0` too
 * and subtract the setup) or `node --cpu-prof`. It prints the garbage collections it saw (by
 * kind, from a `PerformanceObserver`) and the bytes allocated on the JavaScript heap (the sum of
 * what each scavenge freed plus what stayed) — with a fixed young generation
 * (`--max-semi-space-size=16 --min-semi-space-size=16`) both are repeatable. Loads sessionkit
 * from `BENCH_SESSIONKIT_DIR` (the `tsc` build) like the contenders do, else from `src/`.
 */

import type { SessionManager } from '../src/index.js';
import { sessionkit } from './contenders/_build.js';
import type { BenchData } from './contenders/_env.js';
import { startHeapSample } from './harness/heap-sample.js';

const { createSessionManager } = await sessionkit<typeof import('../src/index.js')>('index.js');
const { memoryStore } =
  await sessionkit<typeof import('../src/stores/memory.js')>('stores/memory.js');

const reads = Number(process.argv[2] ?? 20_000);
const writes = Number(process.argv[3] ?? reads);
const warmup = Number(process.env.BENCH_WARMUP ?? 2_000);

const manager: SessionManager<BenchData> = createSessionManager<BenchData>({
  store: memoryStore({ sweepInterval: 0 }),
  secrets: ['5f0c8e2a9d41b7c3e6a18f4d2b90c57e31a6d8f4029bc7e5a1d3f6b8c0e2a4d9'],
  cookie: { secure: false },
});
const request = { ip: '127.0.0.1', userAgent: 'bench/core' };

/** Create the session every request uses: `{ name: 'bench', counter: 0 }`; its cookie header. */
async function init(): Promise<string> {
  const scope = manager.begin(request);
  scope.session.merge({ name: 'bench', counter: 0 });
  const { setCookie } = await scope.end();
  return setCookie[0]!.split(';')[0]!;
}

async function read(cookie: string): Promise<void> {
  const scope = manager.begin({ ...request, cookie });
  if ((await scope.session.get('name')) !== 'bench') throw new Error('read failed');
  await scope.end();
}

async function write(cookie: string): Promise<void> {
  const scope = manager.begin({ ...request, cookie });
  await scope.session.update('counter', (n = 0) => n + 1);
  await scope.end();
}

const cookie = await init();
for (let i = 0; i < warmup; i++) {
  await read(cookie);
  await write(cookie);
}

const stopHeapSample = await startHeapSample();
const started = process.cpuUsage();
for (let i = 0; i < reads; i++) await read(cookie);
for (let i = 0; i < writes; i++) await write(cookie);
const cpu = process.cpuUsage(started);
await stopHeapSample();

const check = manager.begin({ ...request, cookie });
const counter = await check.session.get('counter');
if (counter !== warmup + writes) throw new Error(`lost updates: ${counter}`);
process.stdout.write(`${JSON.stringify({ reads, writes, cpu: cpu.user + cpu.system })}\n`);
