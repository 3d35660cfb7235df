/**
 * Attack suite — fingerprint binding over real HTTP (docs/security.md §23). One client written
 * two ways (an IPv4 client seen as `::ffff:a.b.c.d` on a dual-stack listener, two spellings of
 * one IPv6 address) is one client and keeps its session under `destroy`; prefix binding keeps a
 * client moving inside its /24 or /64 and drops one outside it; a session created without a
 * `User-Agent` stays bound to that absence. On the node adapter (`trustProxy`) and Express
 * (`trust proxy`), each with its own way of finding the client address.
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionMiddleware as expressSession } from '../../src/adapters/express.js';
import { withSession } from '../../src/adapters/node.js';
import { generateSecret } from '../../src/core/keys.js';
import type { Session } from '../../src/core/session.js';
import type { SessionManager, SessionManagerOptions } from '../../src/index.js';
import { testManager } from '../support/manager.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The app: log in, and say who the session belongs to. */
async function route(session: Session, method: string, res: ServerResponse): Promise<void> {
  if (method === 'POST') session.login('alice');
  const userId = method === 'POST' ? 'alice' : (await session.meta()).userId;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ userId, flagged: session.flagged }));
}

/** The adapters under test: a node:http handler for `manager`, trusting one proxy hop. */
const ADAPTERS: { name: string; handler(manager: SessionManager): Handler }[] = [
  {
    name: 'node',
    handler: (manager) =>
      withSession(manager, (req, res, session) => route(session, req.method!, res), {
        trustProxy: 1,
      }),
  },
  {
    name: 'Express',
    handler: (manager) => {
      const app = express();
      app.set('trust proxy', 1);
      app.use(expressSession(manager));
      app.all('/', (req, res, next) => {
        route((req as unknown as { session: Session }).session, req.method, res).catch(next);
      });
      return app as unknown as Handler;
    },
  },
];

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Listen on `host` (loopback only); resolves the base URL to connect to (always 127.0.0.1). */
async function listen(handler: Handler, host: string): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Reply {
  userId: string | null;
  flagged: boolean;
  cookie: string | undefined;
}

/** One request through node:http, which adds no header of its own (no default User-Agent). */
function send(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const set = res.headers['set-cookie']?.[0]?.split(';')[0];
        try {
          resolve({ ...(JSON.parse(body) as Omit<Reply, 'cookie'>), cookie: set });
        } catch (error) {
          reject(new Error(`${res.statusCode}: ${body}`, { cause: error }));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function setup(options: Partial<SessionManagerOptions>) {
  const manager = testManager({ secrets: [generateSecret()], ...options });
  return { manager, events: manager.events };
}

/** Log in from `headers`; then, for each step, whether a request with those headers is still alice. */
async function walk(
  url: string,
  login: Record<string, string>,
  steps: [Record<string, string>, boolean][],
): Promise<void> {
  const { cookie } = await send(url, 'POST', login);
  expect(cookie).toBeDefined();
  for (const [headers, kept] of steps) {
    const reply = await send(url, 'GET', { ...headers, cookie: cookie! });
    expect(reply.userId, JSON.stringify(headers)).toBe(kept ? 'alice' : null);
  }
}

const xff = (ip: string) => ({ 'x-forwarded-for': ip, 'user-agent': 'Browser/1' });

for (const adapter of ADAPTERS) {
  describe(`fingerprint: ${adapter.name}`, () => {
    it('an IPv4 client seen as ::ffff:a.b.c.d on a dual-stack listener is the same client', async () => {
      const { manager, events } = setup({ fingerprint: { ip: true, policy: 'destroy' } });
      const handler = adapter.handler(manager);
      // Both listeners are loopback; the first reports clients as IPv4-mapped IPv6 addresses.
      const mapped = await listen(handler, '::ffff:127.0.0.1');
      const plain = await listen(handler, '127.0.0.1');
      const ua = { 'user-agent': 'Browser/1' };
      for (const [first, second] of [
        [mapped, plain],
        [plain, mapped],
      ] as const) {
        const { cookie } = await send(first!, 'POST', ua);
        for (const url of [second, first, second]) {
          const reply = await send(url!, 'GET', { ...ua, cookie: cookie! });
          expect(reply).toMatchObject({ userId: 'alice', flagged: false });
        }
      }
      expect(events.filter((e) => e.type === 'fingerprint-mismatch')).toEqual([]);
    });

    it('IPv6 spellings of one address are one client; another address is not', async () => {
      const { manager } = setup({ fingerprint: { ip: true, policy: 'destroy' } });
      const url = await listen(adapter.handler(manager), '127.0.0.1');
      await walk(url, xff('2001:DB8::1'), [
        [xff('2001:0db8:0:0::1'), true],
        [xff('2001:db8:0:0:0:0:0:1'), true],
        [xff('2001:db8::2'), false],
      ]);
      await walk(url, xff('::ffff:203.0.113.9'), [
        [xff('203.0.113.9'), true],
        [xff('::FFFF:cb00:7109'), true],
        [xff('203.0.113.10'), false],
      ]);
    });

    it('prefix binding: a client moving inside its /24 or /64 keeps the session; outside it does not', async () => {
      const { manager } = setup({
        fingerprint: {
          ip: { ipv4Prefix: 24, ipv6Prefix: 64 },
          userAgent: false,
          policy: 'destroy',
        },
      });
      const url = await listen(adapter.handler(manager), '127.0.0.1');
      await walk(url, xff('203.0.113.7'), [
        [xff('203.0.113.250'), true],
        [xff('::ffff:203.0.113.1'), true],
        [xff('203.0.112.7'), false],
      ]);
      await walk(url, xff('2001:db8:1:2::1'), [
        [xff('2001:DB8:1:2:ffff:ffff:ffff:ffff'), true],
        [xff('2001:db8:1:3::1'), false],
      ]);
    });

    it('a session created without a User-Agent is bound to its absence', async () => {
      const flag = setup({ fingerprint: { policy: 'flag' } });
      const flagged = await listen(adapter.handler(flag.manager), '127.0.0.1');
      const { cookie } = await send(flagged, 'POST');
      expect(await send(flagged, 'GET', { cookie: cookie! })).toMatchObject({
        userId: 'alice',
        flagged: false,
      });
      const evil = await send(flagged, 'GET', { cookie: cookie!, 'user-agent': 'Evil/1' });
      expect(evil).toMatchObject({ userId: 'alice', flagged: true });

      const destroy = setup({ fingerprint: { policy: 'destroy' } });
      const url = await listen(adapter.handler(destroy.manager), '127.0.0.1');
      await walk(url, {}, [
        [{}, true],
        [{ 'user-agent': 'Evil/1' }, false],
        [{}, false],
      ]);
      expect(destroy.events).toContainEqual(
        expect.objectContaining({ type: 'fingerprint-mismatch', policy: 'destroy' }),
      );
    });
  });
}
