/**
 * Smoke test of examples/fastify: the app over real HTTP on port 0, and the script run directly.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningServer, start } from './server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await start(0);
});
afterAll(() => server.close());

function pairOf(response: Response): string {
  const [line] = response.headers.getSetCookie();
  expect(line).toBeDefined();
  return line!.split(';')[0]!;
}

it('counts per session; /health never sets a cookie', async () => {
  const health = await fetch(`${server.url}/health`);
  expect(await health.json()).toEqual({ ok: true });
  expect(health.headers.getSetCookie()).toEqual([]);

  const first = await fetch(`${server.url}/counter`, { method: 'POST' });
  expect(await first.json()).toEqual({ counter: 1 });
  const cookie = pairOf(first);
  expect(cookie.startsWith('sid=')).toBe(true);
  const second = await fetch(`${server.url}/counter`, { method: 'POST', headers: { cookie } });
  expect(await second.json()).toEqual({ counter: 2 });
  expect(second.headers.getSetCookie()).toEqual([]);
  const page = await fetch(`${server.url}/`, { headers: { cookie } });
  expect(await page.text()).toBe('counter: 2\n');
  expect(page.headers.get('cache-control')).toBe('private, no-store');

  // Another client has its own session.
  const other = await fetch(`${server.url}/counter`, { method: 'POST' });
  expect(await other.json()).toEqual({ counter: 1 });
});

it('run directly, it listens on PORT and serves', async () => {
  const script = fileURLToPath(new URL('./server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    const reply = await fetch(`${url}/counter`, { method: 'POST' });
    expect(await reply.json()).toEqual({ counter: 1 });
  } finally {
    child.kill();
  }
});
