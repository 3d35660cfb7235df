/**
 * `npm run bench` — sessionkit side by side with the session libraries users would otherwise
 * pick, in one run on this machine. Writes `docs/benchmarks.md` and `docs/benchmarks.svg`
 * (`--quick`: a ~2-minute smoke run written to `.bench-out/` instead). Raw numbers go to
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
import {
  type Child,
  cpuMicros,
  killAllNow,
  startChild,
  stopAll,
  stopChild,
} from './harness/children.js';
import {
  burst,
  type Credential,
  createSessions,
  runLoad,
  type Scenario,
  stopLoad,
} from './harness/load.js';
import {
  CONTENDERS,
  type Contender,
  type ContenderResult,
  FULL,
  onRedis,
  QUICK,
  type Round,
  type RunConfig,
  type RunResult,
  transportOf,
} from './harness/plan.js';
import { profile } from './harness/profile.js';
import { renderMarkdown, renderSvg } from './harness/report.js';

const ROOT = resolve(import.meta.dirname, '..');
const SCENARIOS: readonly Scenario[] = ['A', 'B', 'C'];

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
  const noise = { commands: 0, seconds: 0 };
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
  for (const contender of selected) {
    const entry: ContenderResult = { contender, scenarios: {}, burst: [] };
    result.results.push(entry);
    let child: Child | undefined;
    const table = tableOf(contender);
    const pgBefore = contender.store === 'postgres' ? await b.pgUpdates(table) : undefined;
    try {
      child = await startChild(contender.file, env(contender));
      const transport = transportOf(contender);
      const credentials =
        contender.library === 'bare'
          ? [{}]
          : await createSessions(child.port, config.sessions, transport);
      for (const scenario of SCENARIOS) {
        await runLoad(child.port, scenario, credentials, config.connections, config.warmup);
        const rounds: Round[] = [];
        for (let i = 0; i < config.rounds; i++) {
          const round = await measure(b, child, contender, scenario, credentials, noise);
          rounds.push(round);
        }
        const median = medianRound(rounds);
        entry.scenarios[scenario] = { rounds, median };
        log(
          `${contender.id.padEnd(30)} ${scenario}  ${median.rps.toFixed(0).padStart(6)} req/s  ` +
            `p50 ${median.p50} ms  p99 ${median.p99} ms  ${median.cpuUs.toFixed(0)} µs CPU/req  ` +
            `${median.trips.toFixed(2)} trips/req (${median.cmds.toFixed(2)} cmds)  ` +
            `GC/1k req: ${(median.gcMinor ?? 0).toFixed(1)} minor, ${(median.gcMajor ?? 0).toFixed(2)} major, ` +
            `${(median.gcMs ?? 0).toFixed(1)} ms${median.failures > 0 ? `  ${median.failures} failures` : ''}`,
        );
      }
      if (contender.library !== 'bare') {
        for (let i = 0; i < config.burstTrials; i++) {
          entry.burst.push(await burst(child.port, config.burstConcurrency, transport));
        }
        log(
          `${contender.id.padEnd(30)} burst  lost ${entry.burst.map((t) => t.lost).join(', ')}` +
            ` of ${config.burstConcurrency} (failed ${entry.burst.map((t) => t.failed).join(', ')})`,
        );
      }
    } catch (error) {
      entry.error = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      log(`${contender.id}: FAILED — ${entry.error}`);
    } finally {
      if (child !== undefined) await stopChild(child.pid);
    }
    if (pgBefore !== undefined) {
      // The contender's backends publish their counts as they exit: give them a moment.
      await new Promise((done) => setTimeout(done, 1_000));
      const after = await b.pgUpdates(table);
      entry.pgUpdates = {
        updates: after.updates - pgBefore.updates,
        hot: after.hot - pgBefore.hot,
      };
    }
  }
  result.redisNoisePerSecond = noise.seconds > 0 ? noise.commands / noise.seconds : 0;
  result.elapsedMs = Date.now() - started;
  return result;
}

async function measure(
  b: Backends,
  child: Child,
  contender: Contender,
  scenario: Scenario,
  credentials: readonly Credential[],
  noise: { commands: number; seconds: number },
): Promise<Round> {
  // The child counts its own round trips when it uses ioredis or pg; connect-redis's node-redis
  // client is not counted in the child, but it sends no scripts, so Redis's count is its trips.
  const counted = contender.store === 'postgres' || contender.ioredis;
  const redisStore = onRedis(contender);
  const redisBefore = await b.redisCommands();
  const before = await child.stats();
  const cpuBefore = cpuMicros(child.pid);
  const load = await runLoad(
    child.port,
    scenario,
    credentials,
    config.connections,
    config.roundSeconds,
  );
  const cpu = cpuMicros(child.pid) - cpuBefore;
  const after = await child.stats();
  const calls = counted ? after.storeCalls - before.storeCalls : 0;
  const redisAfter = await b.redisCommands();
  const redis = redisAfter.total - redisBefore.total;
  const requests = load.requests.total;
  if (!redisStore) {
    noise.commands += redis;
    noise.seconds += load.duration;
  }
  const per = (n: number): number => (requests > 0 ? n / requests : 0);
  const trips = counted ? calls : redisStore ? redis : 0;
  const byName: Record<string, number> = {};
  for (const [name, n] of Object.entries(redisAfter.byName)) {
    const delta = n - (redisBefore.byName[name] ?? 0);
    if (delta > 0) byName[name] = per(delta);
  }
  return {
    rps: requests / load.duration,
    p50: load.latency.p50,
    p99: load.latency.p99,
    cpuUs: per(cpu),
    cmds: redisStore ? per(redis) : per(trips),
    trips: per(trips),
    ...(redisStore ? { redisByCommand: byName } : {}),
    gcMinor: per(after.gc.minor - before.gc.minor) * 1000,
    gcMajor: per(after.gc.major - before.gc.major) * 1000,
    gcMs: per(after.gc.ms - before.gc.ms) * 1000,
    requests,
    failures: load.non2xx + load.errors + load.timeouts,
  };
}

function medianRound(rounds: readonly Round[]): Round {
  const m = (pick: (r: Round) => number): number => {
    const sorted = rounds.map(pick).sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  return {
    rps: m((r) => r.rps),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    cpuUs: m((r) => r.cpuUs),
    cmds: m((r) => r.cmds),
    trips: m((r) => r.trips),
    ...medianByCommand(rounds),
    gcMinor: m((r) => r.gcMinor ?? 0),
    gcMajor: m((r) => r.gcMajor ?? 0),
    gcMs: m((r) => r.gcMs ?? 0),
    requests: m((r) => r.requests),
    failures: rounds.reduce((sum, r) => sum + r.failures, 0),
  };
}

/** The Redis commands per request of the round whose total is the median (one consistent set). */
function medianByCommand(rounds: readonly Round[]): Pick<Round, 'redisByCommand'> {
  const sorted = rounds
    .filter((r) => r.redisByCommand !== undefined)
    .sort((x, y) => x.cmds - y.cmds);
  const mid = sorted[sorted.length >> 1];
  return mid === undefined ? {} : { redisByCommand: mid.redisByCommand ?? {} };
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
