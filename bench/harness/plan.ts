/**
 * The contenders, the settings of a full and a quick run, and the result shapes. Imports nothing,
 * so the report can be rendered (and tested) without the load generator.
 */

/** The three scenarios (requests in `load.ts`). */
export type Scenario = 'A' | 'B' | 'C';

/** One burst trial: what was sent, what succeeded, the final counter. */
export interface BurstTrial {
  ok: number;
  failed: number;
  final: number;
  /** Increments answered 2xx but missing from the final counter. */
  lost: number;
}

/** Framework a contender runs on. */
export type Framework = 'node' | 'express' | 'fastify';
/**
 * Session library (or none); `sessionkit/express-session` is sessionkit's drop-in facade; `floor`
 * is the hand-written minimum (`floor-node.ts`, `floor-express.ts`) every sessionkit figure is
 * read against.
 */
export type Library =
  | 'bare'
  | 'floor'
  | 'express-session'
  | '@fastify/session'
  | 'sessionkit'
  | 'sessionkit/express-session'
  | 'iron-session';
/**
 * Backend of the session store; `cookie` (sealed) and `jwt` keep the session in the cookie: no
 * backend at all. `hybrid` is sessionkit's write-on-demand hybrid over Redis: the bench's
 * sessions are anonymous and small, so they stay sealed in the cookie and Redis only answers the
 * denylist read of every opened token.
 */
export type StoreName = 'none' | 'memory' | 'redis' | 'postgres' | 'cookie' | 'jwt' | 'hybrid';

/**
 * Where the session token travels: the cookie, or `Authorization: Bearer` with the new token
 * returned in the {@link TOKEN_HEADER} response header (sessionkit's `transport: 'bearer'`).
 */
export type Transport = 'cookie' | 'bearer';

/**
 * The response header a Bearer contender returns its new token in; the child configures it
 * explicitly (`bench/contenders/_sessionkit.ts`), the load generator reads it (`load.ts`).
 */
export const TOKEN_HEADER = 'session-token';

/**
 * `true` for a contender whose sessions travel in the token (no compare-and-set possible): the
 * sealed cookie, JWT, and the hybrid, whose anonymous bench sessions stay stateless.
 */
export function stateless(c: Contender): boolean {
  return c.store === 'cookie' || c.store === 'jwt' || c.store === 'hybrid';
}

/** `true` for a contender whose store talks to Redis (the hybrid keeps its denylist there). */
export function onRedis(c: Contender): boolean {
  return c.store === 'redis' || c.store === 'hybrid';
}

/** The transport of `c`; results of runs before transports were recorded have none: cookie. */
export function transportOf(c: Contender): Transport {
  return c.transport ?? 'cookie';
}

/** One server configuration. */
export interface Contender {
  id: string;
  file: string;
  framework: Framework;
  library: Library;
  store: StoreName;
  /** The store runs through a connect store (connect-redis, connect-pg-simple), not sessionkit's. */
  connect: boolean;
  /** The child counts its own Redis round trips (it talks to Redis through ioredis). */
  ioredis: boolean;
  /** Where the session token travels; absent in results of older runs (read {@link transportOf}). */
  transport?: Transport;
}

function contender(
  file: string,
  framework: Framework,
  library: Library,
  store: StoreName,
  connect = library === 'express-session' || library === '@fastify/session',
  transport: Transport = 'cookie',
): Contender {
  const id = `${store === 'none' ? file : `${file}-${store}`}${transport === 'cookie' ? '' : `-${transport}`}`;
  const ioredis = (store === 'redis' || store === 'hybrid') && !connect;
  return { id, file: `${file}.ts`, framework, library, store, connect, ioredis, transport };
}

/**
 * Every contender, in report order: per framework, bare first, then the floor, then peers, then
 * sessionkit.
 */
export const CONTENDERS: readonly Contender[] = [
  contender('bare-node', 'node', 'bare', 'none'),
  contender('floor-node', 'node', 'floor', 'memory'),
  contender('floor-node', 'node', 'floor', 'redis'),
  contender('floor-node', 'node', 'floor', 'postgres'),
  contender('sessionkit-node', 'node', 'sessionkit', 'memory'),
  contender('sessionkit-node', 'node', 'sessionkit', 'redis'),
  contender('sessionkit-node', 'node', 'sessionkit', 'postgres'),
  contender('iron-session-node', 'node', 'iron-session', 'cookie', false),
  contender('sessionkit-node', 'node', 'sessionkit', 'cookie'),
  contender('sessionkit-node', 'node', 'sessionkit', 'cookie', false, 'bearer'),
  contender('sessionkit-node', 'node', 'sessionkit', 'jwt'),
  contender('sessionkit-node', 'node', 'sessionkit', 'hybrid'),
  contender('bare-express', 'express', 'bare', 'none'),
  contender('floor-express', 'express', 'floor', 'memory'),
  contender('floor-express', 'express', 'floor', 'redis'),
  contender('floor-express', 'express', 'floor', 'postgres'),
  contender('express-session', 'express', 'express-session', 'memory'),
  contender('express-session', 'express', 'express-session', 'redis'),
  contender('express-session', 'express', 'express-session', 'postgres'),
  contender('sessionkit-express', 'express', 'sessionkit', 'memory'),
  contender('sessionkit-express', 'express', 'sessionkit', 'redis'),
  contender('sessionkit-express', 'express', 'sessionkit', 'postgres'),
  contender('sessionkit-facade-connect', 'express', 'sessionkit/express-session', 'redis', true),
  contender('sessionkit-facade', 'express', 'sessionkit/express-session', 'redis'),
  contender('bare-fastify', 'fastify', 'bare', 'none'),
  contender('fastify-session', 'fastify', '@fastify/session', 'memory'),
  contender('fastify-session', 'fastify', '@fastify/session', 'redis'),
  contender('sessionkit-fastify', 'fastify', 'sessionkit', 'memory'),
  contender('sessionkit-fastify', 'fastify', 'sessionkit', 'redis'),
  contender('sessionkit-fastify', 'fastify', 'sessionkit', 'postgres'),
];

/** Settings of one run. */
export interface RunConfig {
  quick: boolean;
  connections: number;
  sessions: number;
  /** Warm-up per scenario, in seconds (not measured). */
  warmup: number;
  /**
   * Unmeasured load right before each round, in seconds: the rounds of a framework's contenders
   * are interleaved, so each comes back to its server after the others' (absent in older runs).
   */
  settle?: number;
  /**
   * Each contender's young generation, fixed: `--min-semi-space-size` in MiB (absent in older
   * runs). 16 is what V8 (Node 20, 64-bit) grows a semi-space to under steady load; without it,
   * a contender's first scavenge after sitting idle through the others' rounds sees a low
   * allocation rate and shrinks its young generation, and the round then pays for 2–3× as many
   * scavenges as a loaded server does.
   */
  semiSpaceMiB?: number;
  /** Measured rounds per scenario; the report shows their medians. */
  rounds: number;
  /** Length of one round, in seconds. */
  roundSeconds: number;
  burstConcurrency: number;
  burstTrials: number;
  /** Hard limit for the whole run, in ms. */
  timeLimit: number;
}

/** `npm run bench`. */
export const FULL: RunConfig = {
  quick: false,
  connections: 50,
  sessions: 50,
  warmup: 2,
  settle: 1,
  semiSpaceMiB: 16,
  rounds: 3,
  roundSeconds: 4,
  burstConcurrency: 200,
  burstTrials: 5,
  // 30 contenders at ~55 s each (3 × (2 + 3 × (1 + 4)) s of load, the burst, start and stop):
  // ~28 min.
  timeLimit: 40 * 60_000,
};

/**
 * `npm run bench -- --quick`: a smoke run of about six minutes (every contender started, one
 * short round per scenario; most of it is starting children and making sessions).
 */
export const QUICK: RunConfig = {
  ...FULL,
  quick: true,
  warmup: 0.5,
  settle: 0.25,
  rounds: 1,
  roundSeconds: 1,
  burstTrials: 2,
  timeLimit: 10 * 60_000,
};

/** One measured round. */
export interface Round {
  /** Completed requests per second. */
  rps: number;
  /** Latency percentiles, in ms. */
  p50: number;
  p99: number;
  /** Server CPU (user + system) per request, in µs. */
  cpuUs: number;
  /**
   * Store commands per request as the backend counts them: Redis `INFO commandstats` (commands
   * inside Lua scripts included), PostgreSQL statements; 0 without a backend.
   */
  cmds: number;
  /** Store round trips per request (commands or statements the server child sent). */
  trips: number;
  /**
   * Redis commands per request by name (`INFO commandstats`, lower case, commands inside scripts
   * included); only for contenders on Redis. Absent in runs before it was recorded.
   */
  redisByCommand?: Record<string, number>;
  /** Scavenges (minor GCs) of the server per 1,000 requests. Absent in older runs. */
  gcMinor?: number;
  /** Full mark-compacts (major GCs) of the server per 1,000 requests. */
  gcMajor?: number;
  /** Time the server spent in garbage collection per 1,000 requests, in ms. */
  gcMs?: number;
  requests: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  failures: number;
}

/** A contender's results. */
export interface ContenderResult {
  contender: Contender;
  scenarios: Partial<Record<Scenario, { rounds: Round[]; median: Round }>>;
  burst: BurstTrial[];
  /**
   * PostgreSQL row updates of the contender's table while it ran, and how many of them were HOT
   * (heap-only: no index entry written); from `pg_stat_user_tables`.
   */
  pgUpdates?: { updates: number; hot: number };
  error?: string;
}

/** Everything one run measured. */
export interface RunResult {
  config: RunConfig;
  date: string;
  elapsedMs: number;
  machine: Record<string, string>;
  /** Redis commands per second seen while a contender without Redis ran (other clients). */
  redisNoisePerSecond: number;
  results: ContenderResult[];
  /** Set when the run stopped early (time limit, Ctrl-C, error). */
  incomplete?: string;
}
