/**
 * `node bench/sealed-micro.js read|write [iterations]` after a build — the sealed cookie's
 * per-request work without HTTP: what `sessionkit-node-cookie` does for `GET /b` (read `name`) and
 * `POST /c` (`update('counter', n => n + 1)`), through `manager.begin()` → the session → `end()`,
 * as the node adapter calls them (a lazy client address, the `Cookie` header of `POST /init`).
 * Not a test and not part of `npm run bench`: a load-independent measure for profiling.
 *
 * Prints ns per request (wall clock, noisy on a loaded machine). For figures that do not depend
 * on the load, count instructions under callgrind for two iteration counts and take the
 * difference per request (JIT warm-up cancels out):
 *
 * ```sh
 * npx tsc -p tsconfig.build.json --outDir .bench-out/dist
 * for n in 20000 40000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
 *   node --import tsx bench/sealed-micro.ts write $n; done   # total Ir: callgrind_annotate
 * ```
 *
 * `bench/sealed-measure.sh` runs all of it: instructions, bytes allocated (`BENCH_HEAP_SAMPLE=<file>`
 * writes a sampling heap profile of the measured loop that keeps collected objects) and garbage
 * collections per request, each for reads and writes.
 *
 * sessionkit is loaded from `BENCH_SESSIONKIT_DIR` (a `file:` URL of a build), else `.bench-out/dist`.
 */

import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { SessionManager } from '../src/index.js';
import { startHeapSample } from './harness/heap-sample.js';

const BASE =
  process.env.BENCH_SESSIONKIT_DIR ??
  pathToFileURL(new URL('../.bench-out/dist', import.meta.url).pathname).href;
const load = <T>(path: string): Promise<T> => import(`${BASE}/${path}`) as Promise<T>;

const { createSessionManager } = await load<typeof import('../src/index.js')>('index.js');
const { cookieStore } = await load<typeof import('../src/stores/cookie.js')>('stores/cookie.js');

const [mode = 'read', count = '20000'] = process.argv.slice(2);
const iterations = Number(count);
// BENCH_WARMUP: more warm-up requests when TurboFan still compiles in the measured loop (under
// callgrind its compilations are counted; `Runtime_CompileOptimized` in callgrind_annotate).
const WARMUP = Number(process.env.BENCH_WARMUP ?? 6000);
if (mode !== 'read' && mode !== 'write') throw new Error('mode: read or write');

const manager: SessionManager<{ name: string; counter: number }> = createSessionManager({
  store: cookieStore(),
  secrets: ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
  cookie: { secure: false, dangerouslyAllowInsecureCookie: true },
  // A fixed clock: under callgrind a run lasts minutes, and a read after `touchInterval` would
  // re-seal (a touch) instead of only opening.
  now: () => 1_800_000_000_000,
});
// Functions are made once, not per request: tsx keeps function names with an
// `Object.defineProperty(fn, 'name', …)` for every function it makes — about 6000 instructions
// each, which the library does not spend (it is built with tsc).
function clientIp(): string {
  return '127.0.0.1';
}
function noHeader(): undefined {
  return undefined;
}
const request = (cookie: string | undefined) => ({
  cookie,
  ip: clientIp,
  userAgent: undefined,
  header: noHeader,
});

const init = manager.begin(request(undefined));
init.session.merge({ name: 'bench', counter: 0 });
const cookie = (await init.end()).setCookie[0]!.split(';')[0]!;

const increment = (n = 0): number => n + 1;
let sink = 0;
async function once(): Promise<void> {
  const scope = manager.begin(request(cookie));
  if (mode === 'read') sink += (await scope.session.get('name'))?.length ?? 0;
  else sink += await scope.session.update('counter', increment);
  const out = await scope.end();
  sink += out.setCookie.length;
}

// Warm-up (JIT tiers, inline caches: TurboFan has compiled all it will by about 5000 requests),
// then the measured loop. Under callgrind started with
// `--instr-atstart=no`, CALLGRIND=1 switches instruction counting on for the measured loop only.
for (let i = 0; i < WARMUP; i++) await once();
const callgrind = process.env.CALLGRIND === '1';
if (callgrind) execFileSync('callgrind_control', ['-i', 'on', String(process.pid)]);
const stopHeapSample = await startHeapSample();
const started = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) await once();
const ns = Number(process.hrtime.bigint() - started) / iterations;
if (callgrind) execFileSync('callgrind_control', ['-i', 'off', String(process.pid)]);
await stopHeapSample();
process.stdout.write(`${mode}: ${ns.toFixed(0)} ns/request over ${iterations} (${sink})\n`);
