/** The report's closing sections: how the run measured (Method) and on what (Machine). */

import type { RunResult } from './plan.js';

/**
 * How the contenders took turns: interleaved per framework (runs with `settle`), or one at a
 * time (older runs).
 */
function interleaving(c: RunResult['config']): string[] {
  if (c.settle === undefined) return ['- Contenders were started and measured one at a time.'];
  return [
    '- **Interleaved rounds**: the contenders of one framework run side by side (all started, idle',
    '  while not measured); per scenario each is warmed up, then round 1 of every contender, round',
    '  2 of every contender, … each round starting one contender further along and preceded by',
    `  ${c.settle} s of unmeasured load. A machine whose speed drifts over minutes moves every`,
    '  contender of a framework alike, so the ratios of one run stay comparable.',
    ...(c.semiSpaceMiB === undefined
      ? []
      : [
          `  Every contender runs with \`--min-semi-space-size=${c.semiSpaceMiB}\` (MiB): the young generation V8`,
          '  grows to under steady load anyway, kept so that the first scavenge after sitting idle',
          '  (which sees a low allocation rate) does not shrink it — an idle gap a loaded server',
          '  never has, which tripled the scavenges per request of a round.',
        ]),
  ];
}

/** `## Method`: what every column means and how the contenders are configured. */
export function method(run: RunResult): string[] {
  const c = run.config;
  return [
    '## Method',
    '',
    `- One run of \`npm run bench${c.quick ? ' -- --quick' : ''}\` (${(run.elapsedMs / 60_000).toFixed(1)} min): every contender is`,
    '  its own child process (`node --import tsx bench/contenders/<file>.ts`, `NODE_ENV=production`)',
    '  listening on 127.0.0.1, stopped by PID at the end.',
    ...interleaving(c),
    `- Load: autocannon's programmatic API in the harness process, ${c.connections} keep-alive connections,`,
    `  per scenario ${c.warmup} s warm-up then ${c.rounds} round${c.rounds > 1 ? 's' : ''} of ${c.roundSeconds} s; the tables show the median of the`,
    `  rounds (failures: the sum). Before ${c.settle === undefined ? '' : 'each warm-up and round of '}B and C the harness creates`,
    `  ${c.sessions} sessions (\`POST /init\`: \`{ name, counter }\`) and connection *i* always sends cookie *i*`,
    '  (the Bearer contender: token *i* in `Authorization: Bearer`, taken from the `Session-Token`',
    '  response header). Scenario A sends none.',
    '- **Two cores, shared**: autocannon and the server compete for the same 2 CPUs (plus Redis or',
    '  PostgreSQL when used), so absolute req/s are lower than on a dedicated load machine and a',
    '  cheaper server leaves more CPU to the load generator. Compare ratios within this run, not',
    '  numbers across machines. CPU µs/req is the more load-independent figure.',
    '- **The floor** (`floor-node.ts`, `floor-express.ts`, `_floor-session.ts`, `_floor-stores.ts`):',
    '  a hand-written node:http server, and the same work inline in bare Express’s handlers, per',
    '  backend doing only the work a secure server-side session cannot avoid — find the cookie,',
    '  check its HMAC-SHA256 signature with `timingSafeEqual`, SHA-256 of the id as the store key,',
    '  one read, `JSON.parse`; a write is one compare-and-set on a version, retried on conflict',
    '  (memory: a `Map`; Redis: `GET`, and one `EVALSHA` of a Lua `GET` + `SET … PXAT`; PostgreSQL:',
    '  named prepared statements, `UPDATE … WHERE version = $n` on a table indexed only on its key).',
    '- Ratios, all within this run: ×bare — over the bare framework (same routes, constants and an',
    '  in-process counter). ×floor — over the floor on the same framework and store; on Fastify',
    '  the CPU floor (marked †) is the bare framework’s CPU plus the floor’s CPU over bare',
    '  node:http, and its req/s have no floor. ×best peer (sessionkit and its facade only) — over',
    '  the peer library on the same framework and store with the most req/s, or the least CPU',
    '  (express-session on Express, @fastify/session on Fastify, iron-session on node:http’s sealed',
    '  cookie). For CPU, lower is better. A req/s target against a peer also shows the floor on',
    '  the same framework against that peer: what a hand-written server reaches there.',
    '- Latency: autocannon’s histogram (1 ms resolution), p50 and p99 of the median round.',
    '- Server CPU: utime + stime deltas of the server child from `/proc/<pid>/stat` over the round,',
    '  divided by the completed requests (10 ms clock-tick resolution).',
    '- GC: every child counts its collections with a `PerformanceObserver` on `gc` entries —',
    '  scavenges (minor), mark-compacts (major) and the summed duration of all collections,',
    '  incremental marking included — per 1,000 requests of the round. Durations are wall time:',
    '  on a loaded machine a preempted collection counts long; the counts do not.',
    '- Store round trips per request: what the server child sends. Every ioredis client and',
    '  every `pg` pool are counted in the child (a wrapper around `sendCommand` / `pool.query`;',
    '  `pg_stat_statements` is not loaded on this PostgreSQL, so a statement is a round trip).',
    '  connect-redis’s node-redis client is not wrapped; it sends no scripts, so its round trips',
    '  are the Redis command count.',
    '- Redis cmds/req: `INFO commandstats` calls (except `INFO`) before and after the round,',
    '  divided by requests, in total and by command. Redis counts the commands a Lua script runs as',
    '  well, so one `EVALSHA` of a compare-and-set script is 1 round trip but 1 + its commands. It',
    '  counts the whole server: during rounds without Redis the harness saw',
    `  ${run.redisNoisePerSecond.toFixed(1)} commands/s from other clients.`,
    '- PostgreSQL updates: `n_tup_upd` and `n_tup_hot_upd` of the contender’s table in',
    '  `pg_stat_user_tables`, before it started and after its connections closed (a HOT update',
    '  writes no index entry).',
    '- Configuration (`bench/contenders/*.ts`): express-session and @fastify/session as their READMEs',
    '  recommend (`resave: false`, `saveUninitialized: false`, a 64-hex-char secret, non-Secure cookie',
    '  because the bench is plain http); connect-redis 9 on a node-redis client (the client it',
    '  requires), connect-pg-simple 10 on a `pg` pool of 10; sessionkit with its defaults',
    '  (merge concurrency with compare-and-set, HMAC-signed cookies, hashed store keys, idle and',
    '  absolute timeouts, touchInterval 60 s) and `cookie: { secure: false }`, its Redis store on',
    '  ioredis, its PostgreSQL store on a `pg` pool of 10 (the floor’s too). Same Redis (a per-run',
    '  key prefix) and same PostgreSQL (per-run tables), both deleted at the end of the run.',
    '- The express-session facade (`sessionkit/express-session`) runs the very same Express',
    '  handlers and options as the express-session contender (`_express-session-app.ts`), once over',
    '  connect-redis (the one-import switch: whole-record writes, so it may lose updates like',
    '  express-session) and once over sessionkit’s Redis store on ioredis (diff-and-merge with',
    '  compare-and-set: it must lose none).',
    '- iron-session 8.0.4 (the last version for Node 20) on node:http is the peer of sessionkit’s',
    '  sealed cookie, and of the same sealed token carried in `Authorization: Bearer`',
    "  (`transport: 'bearer'`; iron-session has no header transport); sessionkit’s JWT contender",
    '  has no peer here.',
    '- The hybrid (`sessionkit/stores/hybrid` over sessionkit’s Redis store on ioredis): the bench’s',
    '  sessions are anonymous and small, so they stay sealed in the cookie and never move',
    '  server-side. Redis sees no write from them; opening a sealed token costs one denylist read',
    '  (a `GET`), which the round-trip and Redis-command columns show. Its burst loses updates like',
    '  the sealed cookie’s (no compare-and-set on the stateless side).',
  ];
}

/** `## Machine`: where and on what the run measured. */
export function machineSection(run: RunResult): string[] {
  const m = run.machine;
  return [
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| date | ${run.date} |`,
    `| CPUs (\`nproc\`) | ${m.cpus} |`,
    `| CPU model (\`/proc/cpuinfo\`) | ${m.model} |`,
    `| memory | ${m.memory} |`,
    `| Node.js | ${m.node} |`,
    `| Redis | ${m.redis} (127.0.0.1:6379) |`,
    `| PostgreSQL | ${m.postgres} (127.0.0.1:5432) |`,
    `| sessionkit commit | ${m.commit} |`,
    '',
    'Raw numbers of every round: `.bench-out/results.json` after a run. Reproduce with',
    '`npm run bench` (about 25 minutes; `-- --quick` for a 4-minute smoke run written to',
    '`.bench-out/`, `-- --profile` for a CPU profile of sessionkit on Express + Redis).',
  ];
}
