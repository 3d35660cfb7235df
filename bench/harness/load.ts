/**
 * Load: a pool of sessions (one cookie per autocannon connection), timed autocannon runs from
 * this process (programmatic API), and the lost-update burst.
 */

import { Agent, request } from 'node:http';
import autocannon, { type AutocannonResult, type Instance } from 'autocannon';
import type { BurstTrial, Scenario } from './plan.js';

export type { BurstTrial, Scenario };

/** Method and path of each scenario's request. */
export const ROUTES: Record<Scenario, { method: 'GET' | 'POST'; path: string }> = {
  A: { method: 'GET', path: '/a' },
  B: { method: 'GET', path: '/b' },
  C: { method: 'POST', path: '/c' },
};

let current: Instance | undefined;

/** Stop the autocannon run in progress, if any (time limit, Ctrl-C). */
export function stopLoad(): void {
  current?.stop();
}

/** One response: status, body and the `name=value` pairs of its `Set-Cookie` headers. */
export async function call(
  port: number,
  method: string,
  path: string,
  cookie: string,
  agent?: Agent,
): Promise<{ status: number; body: string; cookie: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: cookie === '' ? {} : { cookie },
        ...(agent === undefined ? {} : { agent }),
        timeout: 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const pairs = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? '');
          resolve({ status: res.statusCode ?? 0, body, cookie: pairs.join('; ') });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** Create `count` sessions (`POST /init`); their cookies ('' for a contender without sessions). */
export async function createSessions(port: number, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await call(port, 'POST', '/init', '');
    if (res.status !== 200) throw new Error(`POST /init answered ${res.status}`);
    cookies.push(res.cookie);
  }
  return cookies;
}

/**
 * Run autocannon for `seconds` with `connections` connections; connection i sends cookie i
 * (scenario A sends none).
 */
export function runLoad(
  port: number,
  scenario: Scenario,
  cookies: readonly string[],
  connections: number,
  seconds: number,
): Promise<AutocannonResult> {
  const route = ROUTES[scenario];
  let next = 0;
  return new Promise((resolve, reject) => {
    current = autocannon(
      {
        url: `http://127.0.0.1:${port}${route.path}`,
        method: route.method,
        connections,
        duration: seconds,
        timeout: 10,
        setupClient: (client) => {
          const cookie = scenario === 'A' ? '' : (cookies[next++ % cookies.length] ?? '');
          if (cookie !== '') client.setHeaders({ cookie });
        },
      },
      (error, result) => {
        current = undefined;
        if (error !== null) reject(error);
        else resolve(result);
      },
    );
  });
}

/**
 * `concurrency` concurrent `POST /c` on one fresh session, each on its own connection, then
 * `GET /counter`. A lost update is an increment that was answered 2xx yet is missing.
 */
export async function burst(port: number, concurrency: number): Promise<BurstTrial> {
  const [cookie = ''] = await createSessions(port, 1);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: concurrency }, () => call(port, 'POST', '/c', cookie, agent)),
    );
    const ok = results.filter(
      (r) => r.status === 'fulfilled' && r.value.status >= 200 && r.value.status < 300,
    ).length;
    const res = await call(port, 'GET', '/counter', cookie);
    const final = Number((JSON.parse(res.body) as { counter?: number }).counter ?? 0);
    return { ok, failed: concurrency - ok, final, lost: Math.max(0, ok - final) };
  } finally {
    agent.destroy();
  }
}
