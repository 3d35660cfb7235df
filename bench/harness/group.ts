/**
 * The comparison of one framework's contenders (`npm run bench`): started side by side, their
 * rounds interleaved, so that a machine whose speed drifts over minutes moves them alike. A round
 * is `roundSeconds` of autocannon load against one running contender, with everything the report
 * shows read around it: the server child's CPU time (`/proc/<pid>/stat`), its own counters (store
 * round trips, garbage collections) and Redis's `INFO commandstats`.
 */

import type { Backends } from './backends.js';
import { type Child, cpuMicros, startChild, stopChild } from './children.js';
import { burst, type Credential, createSessions, runLoad, type Scenario } from './load.js';
import {
  type Contender,
  type ContenderResult,
  onRedis,
  type Round,
  type RunConfig,
  type RunResult,
  transportOf,
} from './plan.js';
import { medianRound, roundLine, roundOrder } from './rounds.js';

/** The scenarios every contender runs, in order. */
export const SCENARIOS: readonly Scenario[] = ['A', 'B', 'C'];

/** What {@link compareGroup} measures with and writes to. */
export interface GroupRun {
  backends: Backends;
  config: RunConfig;
  /** The run's result: each contender's entry is appended as it starts. */
  result: RunResult;
  noise: RedisNoise;
  /** The environment of a contender's child. */
  env(contender: Contender): Record<string, string>;
  /** The PostgreSQL table a contender uses. */
  table(contender: Contender): string;
  log(message: string): void;
}

/** A contender of the group being measured: its running child and what it was started with. */
interface Running {
  entry: ContenderResult;
  child: Child;
  /** The sessions the load sends, made anew before each round (see {@link freshSessions}). */
  credentials: readonly Credential[];
  /** The contender's PostgreSQL table's update counts before it started (PostgreSQL only). */
  pgBefore?: { table: string; updates: number; hot: number };
}

/**
 * Measure the contenders of one framework side by side. All of them are started first; then,
 * per scenario, each is warmed up, and the measured rounds are interleaved — round 1 of every
 * contender, then round 2 of every contender, each round starting one contender further along
 * ({@link roundOrder}) and preceded by `settle` seconds of unmeasured load (pools that closed
 * idle connections reconnect, caches the others used are warm again). A machine whose speed
 * drifts over minutes then moves every contender's median alike, and the ratios of one run stay
 * comparable (with the young generation fixed: see `semiSpaceMiB`). The bursts come last; a
 * contender that fails is marked with its error and left out of the remaining rounds.
 */
export async function compareGroup(run: GroupRun, group: readonly Contender[]): Promise<void> {
  const { backends: b, config, result, noise, env, table: tableOf, log } = run;
  const pgTables = group.filter((c) => c.store === 'postgres').map(tableOf);
  if (new Set(pgTables).size !== pgTables.length) {
    // Their update counts are read per table over the whole group: they would mix.
    throw new Error(`two contenders of one framework share a PostgreSQL table: ${pgTables}`);
  }
  const running: Running[] = [];
  // Mark a contender failed and stop its child, if it has one yet.
  const fail = async (entry: ContenderResult, child: Child | undefined, error: unknown) => {
    entry.error = firstLine(error);
    log(`${entry.contender.id}: FAILED — ${entry.error}`);
    if (child !== undefined) await stopChild(child.pid);
  };
  const guarded = async (r: Running, work: () => Promise<void>): Promise<void> => {
    if (r.entry.error !== undefined) return;
    try {
      await work();
    } catch (error) {
      await fail(r.entry, r.child, error);
    }
  };
  try {
    for (const contender of group) {
      const entry: ContenderResult = { contender, scenarios: {}, burst: [] };
      result.results.push(entry);
      let child: Child | undefined;
      try {
        const table = tableOf(contender);
        const pgBefore =
          contender.store === 'postgres' ? { table, ...(await b.pgUpdates(table)) } : undefined;
        child = await startChild(
          contender.file,
          env(contender),
          config.semiSpaceMiB === undefined ? [] : [`--min-semi-space-size=${config.semiSpaceMiB}`],
        );
        running.push({ entry, child, credentials: [{}], ...(pgBefore ? { pgBefore } : {}) });
      } catch (error) {
        await fail(entry, child, error);
      }
    }
    for (const scenario of SCENARIOS) {
      for (const r of running) {
        await guarded(r, async () => {
          await freshSessions(r, config, scenario);
          await runLoad(r.child.port, scenario, r.credentials, config.connections, config.warmup);
        });
      }
      const rounds = new Map<Running, Round[]>(running.map((r) => [r, []]));
      for (let i = 0; i < config.rounds; i++) {
        for (const index of roundOrder(running.length, i)) {
          const r = running[index] as Running;
          await guarded(r, async () => {
            await freshSessions(r, config, scenario);
            const settle = config.settle ?? 0;
            if (settle > 0) {
              await runLoad(r.child.port, scenario, r.credentials, config.connections, settle);
            }
            const round = await measureRound(
              b,
              config,
              r.child,
              r.entry.contender,
              scenario,
              r.credentials,
              noise,
            );
            rounds.get(r)?.push(round);
          });
        }
      }
      for (const r of running) {
        if (r.entry.error !== undefined) continue;
        const measured = rounds.get(r) ?? [];
        const median = medianRound(measured);
        r.entry.scenarios[scenario] = { rounds: measured, median };
        log(roundLine(r.entry.contender.id, scenario, median));
      }
    }
    for (const r of running) {
      if (r.entry.contender.library === 'bare') continue;
      await guarded(r, async () => {
        const transport = transportOf(r.entry.contender);
        for (let i = 0; i < config.burstTrials; i++) {
          r.entry.burst.push(await burst(r.child.port, config.burstConcurrency, transport));
        }
        log(
          `${r.entry.contender.id.padEnd(30)} burst  lost ${r.entry.burst.map((t) => t.lost).join(', ')}` +
            ` of ${config.burstConcurrency} (failed ${r.entry.burst.map((t) => t.failed).join(', ')})`,
        );
      });
    }
  } finally {
    await Promise.all(running.map((r) => stopChild(r.child.pid)));
  }
  const onPostgres = running.filter((r) => r.pgBefore !== undefined);
  if (onPostgres.length === 0) return;
  // The contenders' backends publish their counts as they exit: give them a moment.
  await new Promise((done) => setTimeout(done, 1_000));
  for (const r of onPostgres) {
    const before = r.pgBefore as NonNullable<Running['pgBefore']>;
    const after = await b.pgUpdates(before.table);
    r.entry.pgUpdates = { updates: after.updates - before.updates, hot: after.hot - before.hot };
  }
}

/**
 * Give `r` new sessions for `scenario` (`POST /init`; none for a bare server or scenario A, which
 * sends no cookie). Each round gets its own, as the
 * contenders measured one at a time did: the load generator keeps sending the cookie it was
 * given and never takes a renewed one, so a session older than the manager's `touchInterval`
 * (60 s by default) — which interleaved rounds would reach — makes a sealed cookie or JWT renew
 * itself on every request, a cost no browser would cause.
 */
async function freshSessions(r: Running, config: RunConfig, scenario: Scenario): Promise<void> {
  const { contender } = r.entry;
  if (contender.library === 'bare' || scenario === 'A') return;
  r.credentials = await createSessions(r.child.port, config.sessions, transportOf(contender));
}

/** The first line of an error's message (a child's stderr follows on the next lines). */
function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/**
 * Redis commands seen while a contender without Redis was measured (other clients of the same
 * server), summed over the run: `commands` over `seconds`.
 */
export interface RedisNoise {
  commands: number;
  seconds: number;
}

/** Measure one round of `scenario` against `child`. */
export async function measureRound(
  b: Backends,
  config: RunConfig,
  child: Child,
  contender: Contender,
  scenario: Scenario,
  credentials: readonly Credential[],
  noise: RedisNoise,
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
