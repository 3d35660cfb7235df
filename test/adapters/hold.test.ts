/**
 * The one response hold of the node-based adapters and the express-session facade
 * (`src/adapters/_hold.ts`), on a real node:http server: owners that add no wait, several owners
 * on one response, a failing owner, and what the held response looks like to the handler.
 */

import http, { type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type HoldOwner, holdResponse } from '../../src/adapters/_hold.js';
import { type AdapterServer, listen, send } from './contract.js';

const servers: AdapterServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** An owner that waits `ms` (or not at all when `undefined`) and then sets header `name`. */
function owner(name: string, ms: number | undefined, fail = false): HoldOwner<string> {
  return {
    firstByte: () =>
      ms === undefined
        ? undefined
        : new Promise((resolve, reject) =>
            setTimeout(() => (fail ? reject(new Error(name)) : resolve(name)), ms),
          ),
    ready: (res, value) => res.setHeader(`x-${name}`, value),
    failed: (res, error) => {
      res.statusCode = 503;
      res.end(`failed: ${(error as Error).message}`);
    },
  };
}

async function serve(
  owners: HoldOwner<string>[],
  handler: (res: ServerResponse, seen: unknown[]) => void,
): Promise<{ url: string; seen: unknown[] }> {
  const seen: unknown[] = [];
  const server = await listen(
    http.createServer((_req, res) => {
      for (const o of owners) seen.push(holdResponse(res, o));
      handler(res, seen);
    }),
  );
  servers.push(server);
  return { url: server.url, seen };
}

describe('the response hold', () => {
  it('an owner with nothing to wait for lets every call through at once (write returns true)', async () => {
    const { url, seen } = await serve([owner('a', undefined)], (res, seen) => {
      seen.push(res.write('x'), res.headersSent);
      res.end('y');
    });
    const reply = await send(url, 'GET', '/');
    expect(reply.text).toBe('xy');
    expect(seen).toEqual([true, true, true]);
  });

  it('two owners on one response: both are waited for, both add their headers, the body is replayed in order', async () => {
    const { url, seen } = await serve([owner('slow', 30), owner('fast', 0)], (res, seen) => {
      res.setHeader('content-type', 'text/plain');
      seen.push(res.write('a'), res.headersSent);
      res.write('b');
      res.end('c');
    });
    const reply = await send(url, 'GET', '/');
    expect([reply.status, reply.text]).toEqual([200, 'abc']);
    expect([reply.headers.get('x-slow'), reply.headers.get('x-fast')]).toEqual(['slow', 'fast']);
    expect(reply.headers.get('content-type')).toBe('text/plain');
    expect(seen).toEqual([true, true, false, true]);
  });

  it('when one of two owners fails, it answers instead and nothing held is sent', async () => {
    const { url } = await serve([owner('ok', 0), owner('broken', 10, true)], (res) => {
      res.setHeader('x-handler', '1');
      res.end('the handler’s body');
    });
    const reply = await send(url, 'GET', '/');
    expect([reply.status, reply.text]).toEqual([503, 'failed: broken']);
    expect(reply.headers.get('x-ok')).toBeNull();
  });

  it('a held response gets no methods of its own: the shared interceptors hold it', async () => {
    const { url, seen } = await serve([owner('slow', 20)], (res, seen) => {
      const kinds = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
      seen.push(kinds.filter((kind) => Object.hasOwn(res, kind)));
      seen.push(res.write('a'), res.headersSent);
      res.end('b');
    });
    const reply = await send(url, 'GET', '/');
    expect([reply.status, reply.text, reply.headers.get('x-slow')]).toEqual([200, 'ab', 'slow']);
    expect(seen).toEqual([true, [], false, true]);
  });

  it('a response with its own end (a wrapper installed earlier) is held through its own methods', async () => {
    const seen: unknown[] = [];
    const server = await listen(
      http.createServer((_req, res) => {
        // What compression or on-headers do: wrap the method on the response itself.
        const end = res.end;
        res.end = function (this: ServerResponse, chunk?: unknown) {
          return end.call(this, String(chunk).toUpperCase(), 'utf8');
        } as typeof res.end;
        seen.push(holdResponse(res, owner('slow', 20)));
        res.setHeader('content-type', 'text/plain');
        res.end('body');
        seen.push(res.headersSent);
      }),
    );
    servers.push(server);
    const reply = await send(server.url, 'GET', '/');
    expect([reply.status, reply.text, reply.headers.get('x-slow')]).toEqual([200, 'BODY', 'slow']);
    expect(seen).toEqual([true, true]);
  });

  it('a response given another prototype (as Express does) is held by the shared interceptors; one whose prototype overrides end, through its own methods', async () => {
    const kinds = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
    // Express: a per-app prototype inheriting from ServerResponse.prototype, swapped in per request.
    const appResponse = Object.create(http.ServerResponse.prototype) as ServerResponse;
    // A subclass's end that does not call the interceptor: the hold must patch the response.
    class Shouting extends http.ServerResponse {
      override end(chunk?: unknown): this {
        const end = http.OutgoingMessage.prototype.end as (this: unknown, chunk: string) => unknown;
        return end.call(this, String(chunk).toUpperCase()) as this;
      }
    }
    for (const [proto, body, own] of [
      [appResponse, 'body', []],
      [Shouting.prototype, 'BODY', [...kinds]],
    ] as const) {
      const { url, seen } = await serve([], (res, seen) => {
        Object.setPrototypeOf(res, proto);
        seen.push(holdResponse(res, owner('slow', 20)));
        seen.push(kinds.filter((kind) => Object.hasOwn(res, kind)));
        res.end('body');
        seen.push(res.headersSent);
      });
      const reply = await send(url, 'GET', '/');
      expect([reply.status, reply.text, reply.headers.get('x-slow')]).toEqual([200, body, 'slow']);
      expect(seen).toEqual([true, own, true]);
    }
  });

  it('a wrapper installed on a held response still goes through the hold', async () => {
    const { url, seen } = await serve([owner('slow', 20)], (res, seen) => {
      const write = res.write;
      res.write = function (this: ServerResponse, chunk: unknown) {
        return write.call(this, `[${String(chunk)}]`, 'utf8');
      } as typeof res.write;
      seen.push(res.write('a'), res.headersSent);
      res.end('b');
    });
    const reply = await send(url, 'GET', '/');
    expect([reply.status, reply.text, reply.headers.get('x-slow')]).toEqual([200, '[a]b', 'slow']);
    expect(seen).toEqual([true, false, true]);
  });

  it('a response whose headers are out cannot be held', async () => {
    const { url, seen } = await serve([], (res, seen) => {
      res.write('x');
      seen.push(holdResponse(res, owner('late', 0)));
      res.end();
    });
    expect((await send(url, 'GET', '/')).text).toBe('x');
    expect(seen).toEqual([false]);
  });
});
