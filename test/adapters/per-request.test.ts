/**
 * What a request costs the adapters, checked structurally (issue 12): no WeakMap entry per
 * request (the session rides on the request object), one class for every request's client, and
 * Fastify begins no scope for a request that never uses its session (so its onSend has nothing
 * to commit), and registers no onResponse or onRequestAbort hook (a per-request listener each).
 */

import http, { IncomingMessage } from 'node:http';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { getSession as fastifySession, sessionPlugin } from '../../src/adapters/fastify.js';
import { getSession, sessionMiddleware } from '../../src/adapters/node.js';
import { Client, clientOf, type SessionManager } from '../../src/core/manager.js';
import { testManager } from '../support/manager.js';
import { type AdapterServer, cookiesNamed, listen, send } from './contract.js';

const servers: AdapterServer[] = [];
const realSet = WeakMap.prototype.set;
afterEach(async () => {
  WeakMap.prototype.set = realSet;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Count WeakMap entries keyed by a request (node's, or Fastify's wrapper of one). */
function countRequestEntries(): { count: number } {
  const seen = { count: 0 };
  WeakMap.prototype.set = function set(this: WeakMap<object, unknown>, key, value) {
    const raw = (key as { raw?: unknown }).raw;
    if (key instanceof IncomingMessage || raw instanceof IncomingMessage) seen.count++;
    return realSet.call(this, key, value);
  };
  return seen;
}

/** Count `end()` calls on the scopes `manager` begins. */
/** Count the scopes `manager` begins (`begins`) and the `end()` calls on them (`count`). */
function countEnds(manager: SessionManager): { count: number; begins: number } {
  const ends = { count: 0, begins: 0 };
  const begin = manager.begin.bind(manager);
  manager.begin = (request) => {
    ends.begins++;
    const scope = begin(request);
    const end = scope.end.bind(scope);
    scope.end = () => {
      ends.count++;
      return end();
    };
    return scope;
  };
  return ends;
}

describe('per-request state', () => {
  it('clients are instances of one class, the address getter on its prototype, resolved once', () => {
    let calls = 0;
    const lazy = clientOf({ ip: () => `10.0.0.${++calls}`, userAgent: 'ua' });
    const plain = clientOf({ ip: '10.0.0.9', userAgent: undefined });
    expect(lazy).toBeInstanceOf(Client);
    expect(Object.getPrototypeOf(plain)).toBe(Object.getPrototypeOf(lazy));
    expect(Object.getOwnPropertyDescriptor(lazy, 'ip')).toBeUndefined();
    expect(calls).toBe(0);
    expect([lazy.ip, lazy.ip, lazy.userAgent]).toEqual(['10.0.0.1', '10.0.0.1', 'ua']);
    expect(calls).toBe(1);
    expect([plain.ip, plain.userAgent]).toEqual(['10.0.0.9', null]);
  });

  it('node: 20 requests add no WeakMap entry; the session is found on the request itself', async () => {
    const m = testManager();
    const sessions = sessionMiddleware(m);
    const server = await listen(
      http.createServer((req, res) => {
        sessions(req, res, () => {
          getSession(req).set('n', 1);
          res.end('ok');
        });
      }),
    );
    servers.push(server);
    const entries = countRequestEntries();
    for (let i = 0; i < 20; i++) {
      const reply = await send(server.url, 'POST', '/');
      expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
    }
    expect(entries.count).toBe(0);
  });

  it('Fastify: untouched requests begin no scope, never reach end() and add no WeakMap entry; used ones commit', async () => {
    const m = testManager();
    const ends = countEnds(m);
    const app = Fastify();
    await app.register(sessionPlugin, { manager: m });
    app.get('/untouched', async () => 'ok');
    app.post('/write', async (request) => {
      fastifySession(request).set('n', 1);
      return 'ok';
    });
    servers.push({
      url: await app.listen({ port: 0, host: '127.0.0.1' }),
      close: () => app.close(),
    });
    const url = servers[0]!.url;
    const entries = countRequestEntries();
    for (let i = 0; i < 20; i++) {
      const reply = await send(url, 'GET', '/untouched');
      expect([reply.status, reply.text, reply.setCookies]).toEqual([200, 'ok', []]);
    }
    expect([ends.begins, ends.count]).toEqual([0, 0]);
    const written = await send(url, 'POST', '/write');
    expect(cookiesNamed(written, m.cookieName)).toHaveLength(1);
    expect([ends.begins, ends.count]).toEqual([1, 1]);
    expect(entries.count).toBe(0);
  });

  it('Fastify: an untouched request gets no listener a bare app would not have', async () => {
    // An onRequestAbort hook costs a listener on every request's `close`, an onResponse hook
    // listeners on every response's `finish` and `error`: the plugin registers neither.
    const listeners = async (withPlugin: boolean) => {
      const app = Fastify();
      if (withPlugin) await app.register(sessionPlugin, { manager: testManager() });
      app.get('/', async (request, reply) =>
        ['close', 'end', 'aborted']
          .map((e) => request.raw.listenerCount(e))
          .concat(['finish', 'error', 'close'].map((e) => reply.raw.listenerCount(e))),
      );
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      servers.push({ url, close: () => app.close() });
      return JSON.parse((await send(url, 'GET', '/')).text) as number[];
    };
    const bare = await listeners(false);
    expect(await listeners(true)).toEqual(bare);
  });
});
