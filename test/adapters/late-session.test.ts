/**
 * A session first used after its response's headers went out (node and Express adapters): too
 * late to hold the response, so it carries no session headers and nothing is committed unless the
 * handler commits itself — and the process is told once (`SESSIONKIT_LATE_SESSION`), since
 * `res.writeHead(…).end(JSON.stringify({ n: await session.get('n') }))` does it by accident.
 */

import http from 'node:http';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { withSession } from '../../src/adapters/node.js';
import { testManager } from '../support/manager.js';
import { type AdapterServer, cookiesNamed, listen, send } from './contract.js';

const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
const late = () =>
  warnings.mock.calls.filter(
    (call) => (call[1] as { code?: string } | undefined)?.code === 'SESSIONKIT_LATE_SESSION',
  );

describe('a session first used after the headers were sent', () => {
  const m = testManager();
  let server: AdapterServer;
  afterAll(async () => {
    await server?.close();
    warnings.mockRestore();
  });

  it('warns once per process; the response has no session headers; an explicit commit still saves', async () => {
    server = await listen(
      http.createServer(
        withSession(m, async (req, res, session) => {
          const json = { 'content-type': 'application/json' };
          if (req.url === '/seed') {
            session.set('n', 1);
            res.writeHead(200, json).end('{}');
          } else if (req.url === '/timely') {
            const n = await session.get('n');
            res.writeHead(200, json).end(JSON.stringify({ n }));
          } else if (req.url === '/late-read') {
            // writeHead runs before the await: the classic accident.
            res.writeHead(200, json).end(JSON.stringify({ n: await session.get('n') }));
          } else {
            res.writeHead(200, json);
            await session.update('n', (n) => Number(n) + 1);
            if (req.url === '/late-commit') await session.commit();
            res.end(JSON.stringify({ n: await session.get('n') }));
          }
        }),
      ),
    );
    const seeded = await send(server.url, 'POST', '/seed');
    const cookie = cookiesNamed(seeded, m.cookieName)[0]!.pair;
    const timely = await send(server.url, 'GET', '/timely', { cookie });
    expect(JSON.parse(timely.text)).toEqual({ n: 1 });
    expect(timely.headers.get('cache-control')).toBe('private, no-store');
    expect(late()).toHaveLength(0);

    const read = await send(server.url, 'GET', '/late-read', { cookie });
    expect(JSON.parse(read.text)).toEqual({ n: 1 });
    expect(read.headers.get('cache-control')).toBeNull();
    expect(read.headers.get('vary')).toBeNull();
    expect(late()).toHaveLength(1);
    expect(String(late()[0]![0])).toMatch(/after its response's headers were sent/);

    // Not committed: the increment is lost — what the warning is for.
    await send(server.url, 'POST', '/late-write', { cookie });
    expect(JSON.parse((await send(server.url, 'GET', '/timely', { cookie })).text)).toEqual({
      n: 1,
    });
    // Committed by the handler itself: kept.
    await send(server.url, 'POST', '/late-commit', { cookie });
    expect(JSON.parse((await send(server.url, 'GET', '/timely', { cookie })).text)).toEqual({
      n: 2,
    });
    expect(late()).toHaveLength(1); // once per process
  });
});
