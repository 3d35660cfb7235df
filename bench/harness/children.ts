/**
 * Contender processes: each runs as its own child (`node --import tsx bench/contenders/<file>`),
 * listens on 127.0.0.1:0 and prints its port. The harness keeps every PID it started and stops
 * them by PID — SIGTERM, then SIGKILL after a grace period — on success, error, Ctrl-C and the
 * time limit alike. Server CPU time comes from `/proc/<pid>/stat` (utime + stime).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChildStats } from '../contenders/_env.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const START_TIMEOUT = 30_000;
const STOP_GRACE = 3_000;
/** Clock ticks per second of `/proc/<pid>/stat` times. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A running contender. */
export interface Child {
  pid: number;
  port: number;
  process: ChildProcess;
  /**
   * Ask the child for its counters so far: store round trips (its `pg` pool and ioredis client)
   * and garbage collections.
   */
  stats(): Promise<ChildStats>;
}

const running = new Map<number, ChildProcess>();

/**
 * `BENCH_NODE_ARGS`: extra node flags for every contender, space-separated — for diagnosis only
 * (e.g. `--single-threaded-gc`, which `NODE_OPTIONS` does not take); a report made with them is
 * not the default configuration.
 */
const EXTRA_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

/** Start `bench/contenders/<file>` with `env`; resolves once it printed its port. */
export function startChild(
  file: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Child> {
  const child = spawn(
    process.execPath,
    [
      ...EXTRA_NODE_ARGS,
      ...nodeArgs,
      '--import',
      'tsx',
      resolve(ROOT, 'bench', 'contenders', file),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`${file}: spawn failed`));
  running.set(pid, child);
  child.once('exit', () => running.delete(pid));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  return new Promise((resolvePort, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`${file}: no port after ${START_TIMEOUT} ms\n${stderr}`));
    }, START_TIMEOUT);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening\n${stderr}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"port":'));
      if (line === undefined) return;
      clearTimeout(timer);
      const port = (JSON.parse(line) as { port: number }).port;
      resolvePort({ pid, port, process: child, stats: () => askStats(child) });
    });
  });
}

/** Stop one child by PID: SIGTERM, then SIGKILL after the grace period. */
export async function stopChild(pid: number): Promise<void> {
  const child = running.get(pid);
  if (child === undefined) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    running.delete(pid);
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, STOP_GRACE);
  await exited;
  clearTimeout(timer);
}

/** Stop every child this harness started (each by its own PID). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running.keys()].map((pid) => stopChild(pid)));
}

/** SIGKILL every child still running, synchronously (last resort on exit). */
export function killAllNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** CPU time (user + system) the process has used so far, in µs. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLK_TCK;
}

function askStats(child: ChildProcess): Promise<ChildStats> {
  return new Promise((resolveStats, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not answer stats')), 5_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolveStats(message as ChildStats);
    });
    child.send('stats');
  });
}
