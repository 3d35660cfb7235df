/**
 * Torture across processes: three Node processes, each with its own manager (no shared
 * in-process queue or lock turn), serve one session from one Redis / PostgreSQL store over real
 * HTTP; 200 concurrent requests are spread over them round-robin.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import type { Agent } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { type Backend, tryBackend, uniqueName } from '../support/backends.js';
import {
  BURST_TIMEOUT,
  cookieOf,
  keepAliveAgent,
  type Reply,
  send,
} from '../support/torture-app.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'http-worker.ts');
const PROCESSES = 3;
const N = 200;

function startWorker(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
}

describe.each(['redis', 'postgres'] as const)('torture across %s processes', (kind) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  const workers: { child: ChildProcess; url: string }[] = [];
  let agent: Agent;

  beforeAll(async () => {
    const name = uniqueName();
    const opened = await tryBackend(kind, { name });
    if (opened.backend === undefined) {
      skip = opened.reason;
      return;
    }
    backend = opened.backend;
    const secret = generateSecret();
    workers.push(
      ...(await Promise.all(
        Array.from({ length: PROCESSES }, () => startWorker([kind, name, secret])),
      )),
    );
    agent = keepAliveAgent();
  }, BURST_TIMEOUT);
  afterAll(async () => {
    agent?.destroy();
    await Promise.all(
      workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            child.removeAllListeners('exit');
            child.once('exit', () => resolve());
            child.stdin!.end();
          }),
      ),
    );
    await backend?.cleanup();
  });

  async function burst(path: string): Promise<{ cookie: string; replies: Reply[] }> {
    const seeded = await send(agent, workers[0]!.url, 'POST', '/seed');
    const cookie = cookieOf(seeded)!;
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        send(agent, workers[i % PROCESSES]!.url, 'POST', path, cookie),
      ),
    );
    return { cookie, replies };
  }

  /** The non-2xx replies, counted by status and body, for failure messages. */
  function failures(replies: Reply[]): string {
    const counts = new Map<string, number>();
    for (const r of replies) {
      if (r.status === 200) continue;
      const key = `${r.status} ${JSON.stringify(r.body)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return JSON.stringify([...counts]);
  }

  for (const [mode, path] of [
    ['merge mode, update()', '/update'],
    ['lock mode, get-then-set', '/lock/incr'],
  ] as const) {
    it(
      `${mode}: ${N} requests over ${PROCESSES} processes → counter ${N}, all 2xx`,
      async (ctx) => {
        if (skip) return ctx.skip(skip);
        const { cookie, replies } = await burst(path);
        expect(
          replies.map((r) => r.status),
          failures(replies),
        ).toEqual(Array(N).fill(200));
        const seen = replies.map((r) => r.body.counter as number).sort((a, b) => a - b);
        expect(seen).toEqual(Array.from({ length: N }, (_, i) => i + 1));
        for (const { url } of workers) {
          expect((await send(agent, url, 'GET', '/read', cookie)).body.counter).toBe(N);
        }
      },
      BURST_TIMEOUT,
    );
  }
});
