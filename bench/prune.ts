/**
 * `node --import tsx bench/prune.ts [--rows N] [--only postgres|sqlite]` — `sessionkit prune`
 * on a large backlog of expired sessions while an application keeps serving requests on the
 * same store. Not a test: it prints figures (see `docs/operations.md`).
 *
 * For PostgreSQL (`TEST_POSTGRES_URL`, a fresh table) and SQLite (a temp file, WAL): N expired
 * rows (default 1 000 000) are inserted in bulk, 200 live sessions are created through the
 * library, and a node:http app (`update('n', n => n + 1)` per request, 16 concurrent clients)
 * is measured for 5 s alone, then again while `sessionkit prune` runs in its own process (the
 * CLI from src/, as an operator's cron job would run it). Its progress bar shows when this
 * script's stderr is a terminal.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { withSession } from '../src/adapters/node.js';
import { type ConfiguredStore, storeFromUrl } from '../src/config/index.js';
import { createSessionManager, generateSecret } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..');
const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = 16;
const SESSIONS = 200;
const BASELINE_MS = 5_000;

interface LoadFigures {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, only: { type: 'string' } },
});
const ROWS = Number(values.rows);
if (!Number.isSafeInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a positive integer');

for (const kind of ['postgres', 'sqlite'] as const) {
  if (values.only !== undefined && values.only !== kind) continue;
  await benchmark(kind);
}

async function benchmark(kind: 'postgres' | 'sqlite'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-bench-prune-'));
  const table = `sk_bench_${process.pid}`;
  const url =
    kind === 'postgres' ? `${POSTGRES_URL}?table=${table}` : `sqlite:${join(dir, 's.db')}`;
  const store = await storeFromUrl(url, { migrate: true });
  let server: Server | undefined;
  try {
    const filled = performance.now();
    await fill(kind, table, join(dir, 's.db'));
    const fillSeconds = (performance.now() - filled) / 1000;
    server = await serve(store);
    const port = (server.address() as AddressInfo).port;
    const cookies = await sessions(port);
    const baseline = await load(port, cookies, sleep(BASELINE_MS));
    const started = performance.now();
    const pruning = pruneInChild(url);
    const during = await load(port, cookies, pruning);
    const { removed } = await pruning;
    const seconds = (performance.now() - started) / 1000;
    console.log(`\n${kind}: ${ROWS} expired rows inserted in ${fillSeconds.toFixed(1)} s`);
    console.log(
      `  prune: removed ${removed} in ${seconds.toFixed(1)} s (${Math.round(removed / seconds)} rows/s), batches of 1000`,
    );
    console.log(`  app alone:        ${figures(baseline)}`);
    console.log(`  app during prune: ${figures(during)}`);
  } finally {
    server?.close();
    if (kind === 'postgres') await sql(`DROP TABLE IF EXISTS ${table}, ${table}_locks`);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Insert `ROWS` expired sessions in bulk (one statement), straight through the driver. */
async function fill(kind: 'postgres' | 'sqlite', table: string, file: string): Promise<void> {
  const past = Date.now() - 86_400_000;
  if (kind === 'postgres') {
    await sql(
      `INSERT INTO ${table} (key, data, version, expires_at, user_id) SELECT 'k' || lpad(i::text, 42, '0'), convert_to('{}', 'UTF8'), 1, ${past}, NULL FROM generate_series(1, ${ROWS}) AS i`,
    );
    await sql(`ANALYZE ${table}`);
    return;
  }
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.exec(
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ROWS}) INSERT INTO sessionkit_sessions SELECT printf('k%042d', i), '{}', 1, ${past}, NULL FROM c`,
  );
  db.close();
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The app: each request increments a counter in its session. */
function serve(store: ConfiguredStore): Promise<Server> {
  const manager = createSessionManager({
    store,
    secrets: [generateSecret()],
    cookie: { secure: false, name: 'sid' },
  });
  const server = createServer(
    withSession(manager, async (_req, res, session) => {
      const n = await session.update('n', (v: unknown) => (typeof v === 'number' ? v : 0) + 1);
      res.end(String(n));
    }),
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Create the live sessions the load uses; resolves their cookies. */
async function sessions(port: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.text();
    cookies.push((response.headers.get('set-cookie') ?? '').split(';')[0]!);
  }
  return cookies;
}

/** `CLIENTS` loops of requests on random sessions until `until` settles. */
async function load(
  port: number,
  cookies: string[],
  until: Promise<unknown>,
): Promise<LoadFigures> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!done) {
        const cookie = cookies[Math.floor(Math.random() * cookies.length)]!;
        const t = performance.now();
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } });
          await response.text();
          if (response.status !== 200) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? 0,
  };
}

/** `sessionkit prune --json` in its own process; resolves its result. */
function pruneInChild(url: string): Promise<{ removed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'prune', '--json', '--store', url],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { removed: number });
      else reject(new Error(`sessionkit prune exited ${code}`));
    });
  });
}

function figures(f: LoadFigures): string {
  return `${f.requests} requests, ${f.errors} errors, ${f.perSecond.toFixed(0)} req/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, max ${f.max.toFixed(0)} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
