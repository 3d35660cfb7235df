/**
 * `npm run bench` — sessionkit side by side with the session libraries users would otherwise
 * pick, in one run on this machine. Writes `docs/benchmarks.md` and `docs/benchmarks.svg`
 * (`--quick`: a ~6-minute smoke run written to `.bench-out/` instead). Raw numbers go to
 * `.bench-out/results.json`.
 *
 * Flags: `--quick`; `--only <text>[,<text>…]` (contenders whose id contains one of them, plus
 * the bare baselines); `--out <dir>` (where the report goes); `--render` (rewrite the report from
 * the last run's `.bench-out/results.json`, measuring nothing); `--profile[=<id>]` (CPU profile of
 * one contender under scenarios A, B and C instead of the comparison; default
 * `sessionkit-express-redis`).
 *
 * Environment: `BENCH_NODE_ARGS` — extra node flags for every contender (diagnosis only, e.g.
 * `--single-threaded-gc`; see `harness/children.ts`).
 *
 * Not part of `npm test`: a benchmark, never a timed test.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Backends, connectBackends, PG_URL, REDIS_URL } from './harness/backends.js';
import { killAllNow, stopAll } from './harness/children.js';
import { compareGroup, type RedisNoise, SCENARIOS } from './harness/group.js';
import { stopLoad } from './harness/load.js';
import {
  CONTENDERS,
  type Contender,
  FULL,
  QUICK,
  type RunConfig,
  type RunResult,
  transportOf,
} from './harness/plan.js';
import { profile } from './harness/profile.js';
import { renderMarkdown, renderSvg } from './harness/report.js';

const ROOT = resolve(import.meta.dirname, '..');

const args = process.argv.slice(2);
const config: RunConfig = args.includes('--quick') ? QUICK : FULL;
const only = flagValue('--only');
const outDir = resolve(ROOT, flagValue('--out') ?? (config.quick ? '.bench-out' : 'docs'));
const rawDir = resolve(ROOT, '.bench-out');
const profileArg = args.find((a) => a.startsWith('--profile'));
const runId = randomBytes(4).toString('hex');
const skDir = join(rawDir, 'dist');
const prefix = `bench:${runId}:`;
const tables = {
  sessionkit: `bench_${runId}_sk`,
  connectPg: `bench_${runId}_cps`,
  floor: `bench_${runId}_floor`,
};
const allTables = [tables.sessionkit, `${tables.sessionkit}_locks`, tables.connectPg, tables.floor];
const started = Date.now();

let backends: Backends | undefined;
let partial: RunResult | undefined;
let finishing = false;

process.once('SIGINT', () => void shutdown(130, 'interrupted (SIGINT)'));
process.once('SIGTERM', () => void shutdown(143, 'terminated (SIGTERM)'));
process.once('exit', killAllNow);
const limit = setTimeout(
  () => void shutdown(2, `time limit of ${config.timeLimit / 60_000} min reached`),
  config.timeLimit,
);
limit.unref();

try {
  mkdirSync(rawDir, { recursive: true });
  if (args.includes('--render')) {
    // Re-render the report from the last run's raw numbers (no measurement).
    const result = JSON.parse(readFileSync(join(rawDir, 'results.json'), 'utf8')) as RunResult;
    writeReport(
      result,
      resolve(ROOT, flagValue('--out') ?? (result.config.quick ? '.bench-out' : 'docs')),
    );
    await shutdown(0);
  }
  backends = await connectBackends();
  // sessionkit contenders run the JavaScript tsc emits, built privately for this run (dist/ is
  // shared with other work in this tree).
  execFileSync(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'tsconfig.build.json'),
    '--outDir',
    skDir,
  ]);
  if (profileArg !== undefined) {
    const id = profileArg.includes('=') ? profileArg.split('=')[1] : 'sessionkit-express-redis';
    const target = CONTENDERS.find((c) => c.id === id);
    if (target === undefined) throw new Error(`--profile: no contender ${id}`);
    await profile(target, env(target), config, rawDir, ROOT);
  } else {
    const result = await compare(backends);
    writeFileSync(join(rawDir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeReport(result, outDir);
  }
  await shutdown(0);
} catch (error) {
  console.error(error);
  await shutdown(1, error instanceof Error ? error.message : String(error));
}

/** Write the report and chart to `dir`, keeping docs/benchmarks.md's hand-written section. */
function writeReport(result: RunResult, dir: string): void {
  const docs = join(ROOT, 'docs', 'benchmarks.md');
  const previous = existsSync(docs) ? readFileSync(docs, 'utf8') : undefined;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'benchmarks.svg'), renderSvg(result));
  writeFileSync(join(dir, 'benchmarks.md'), renderMarkdown(result, 'benchmarks.svg', previous));
  log(`wrote ${join(dir, 'benchmarks.md')} and benchmarks.svg in ${seconds(Date.now() - started)}`);
}

async function compare(b: Backends): Promise<RunResult> {
  const versions = await b.versions();
  const result: RunResult = {
    config,
    date: new Date().toISOString(),
    elapsedMs: 0,
    machine: machine(versions),
    redisNoisePerSecond: 0,
    results: [],
  };
  partial = result;
  const noise: RedisNoise = { commands: 0, seconds: 0 };
  const selected = CONTENDERS.filter(
    (c) =>
      only === undefined ||
      c.library === 'bare' ||
      only.split(',').some((part) => part !== '' && c.id.includes(part)),
  );
  log(
    `run ${runId}: ${selected.length} contenders × ${SCENARIOS.length} scenarios, ` +
      `${config.warmup} s warm-up + ${config.rounds} × ${config.roundSeconds} s, ` +
      `${config.connections} connections; limit ${config.timeLimit / 60_000} min`,
  );
  // One framework at a time, its contenders' rounds interleaved (see compareGroup).
  for (const framework of [...new Set(selected.map((c) => c.framework))]) {
    await compareGroup(
      { backends: b, config, result, noise, env, table: tableOf, log },
      selected.filter((c) => c.framework === framework),
    );
  }
  result.redisNoisePerSecond = noise.seconds > 0 ? noise.commands / noise.seconds : 0;
  result.elapsedMs = Date.now() - started;
  return result;
}

/** The PostgreSQL table a contender uses. */
function tableOf(contender: Contender): string {
  if (contender.library === 'floor') return tables.floor;
  return contender.connect ? tables.connectPg : tables.sessionkit;
}

function env(contender: Contender): Record<string, string> {
  return {
    BENCH_STORE: contender.store === 'none' ? 'memory' : contender.store,
    BENCH_TRANSPORT: transportOf(contender),
    BENCH_SECRET: randomBytes(32).toString('hex'),
    BENCH_PREFIX: prefix,
    BENCH_TABLE: tableOf(contender),
    BENCH_REDIS_URL: REDIS_URL,
    BENCH_PG_URL: PG_URL,
    BENCH_SESSIONKIT_DIR: pathToFileURL(skDir).href,
  };
}

function machine(versions: { redis: string; postgres: string }): Record<string, string> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    // sessionkit is built from the working tree: say when it differs from the commit.
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT });
    if (dirty.length > 0) commit += ' + uncommitted changes in src/';
  } catch {
    // not a git checkout
  }
  return {
    cpus: String(availableParallelism()),
    model,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    redis: versions.redis,
    postgres: versions.postgres,
    commit,
  };
}

async function shutdown(code: number, reason?: string): Promise<void> {
  if (finishing) return;
  finishing = true;
  clearTimeout(limit);
  if (reason !== undefined && code !== 0) log(`stopping: ${reason}`);
  stopLoad();
  await stopAll();
  if (partial !== undefined && code !== 0) {
    partial.incomplete = reason ?? 'stopped';
    partial.elapsedMs = Date.now() - started;
    writeFileSync(join(rawDir, 'results.partial.json'), `${JSON.stringify(partial, null, 2)}\n`);
  }
  if (backends !== undefined) {
    await Promise.race([
      backends.cleanup(prefix, allTables).catch((error: unknown) => {
        log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }),
      new Promise((done) => setTimeout(done, 10_000).unref()),
    ]);
    await backends.close();
  }
  process.exit(code);
}

function flagValue(flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(0)} s`;
}

function log(message: string): void {
  process.stdout.write(`[bench ${seconds(Date.now() - started).padStart(5)}] ${message}\n`);
}
