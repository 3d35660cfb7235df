/**
 * The shared smoke test of the minimal framework examples (examples/<framework>/server.ts): the
 * app over real HTTP on port 0, and the script run directly. Each example's `smoke.test.ts`
 * calls {@link describeExample} with its own module.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** What every example's server module exports. */
export interface ExampleModule {
  start(port: number): Promise<{ url: string; close(): Promise<void> | void }>;
}

function pairOf(response: Response): string {
  const [line] = response.headers.getSetCookie();
  expect(line).toBeDefined();
  return line!.split(';')[0]!;
}

/** Smoke-test one example: `serverUrl` is the URL of its `server.ts` (for the direct run). */
export function describeExample(name: string, example: ExampleModule, serverUrl: URL): void {
  describe(`example: ${name}`, () => {
    let server: Awaited<ReturnType<ExampleModule['start']>>;
    beforeAll(async () => {
      server = await example.start(0);
    });
    afterAll(() => server.close());

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
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(serverUrl)], {
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
  });
}
