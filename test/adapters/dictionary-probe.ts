/**
 * Run by `dictionary.test.ts` in a child process started with `--allow-natives-syntax`: for each
 * server (Express 5 and 4 bare, with the Express adapter, with the express-session facade; the
 * facade on plain node:http), four requests, and what V8 says of the request and response objects
 * the route saw on the last two — dictionary mode or not (`%HasFastProperties`), and whether the two requests'
 * objects share a hidden class (`%HaveSameMap`). Prints one JSON object when run; imported (by the
 * test), it only lends its servers' parts: {@link EXPRESSES}, {@link SESSION_MIDDLEWARES}, {@link Seen}.
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import express4 from 'express4';
import { sessionMiddleware } from '../../src/adapters/express.js';
import session from '../../src/express-session/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testManager } from '../support/manager.js';
import { listen } from './contract.js';

type Middleware = (req: never, res: never, next: (error?: unknown) => void) => void;

/** What the route saw on two requests. */
export interface Seen {
  requestFast: boolean[];
  responseFast: boolean[];
  requestsShareMap: boolean;
  responsesShareMap: boolean;
}

/** The Express versions the switch is made for, by name. */
export const EXPRESSES = [
  ['Express 5', express],
  ['Express 4', express4 as unknown as typeof express],
] as const;

/** The two middlewares that make the switch, each a new one per call. */
export const SESSION_MIDDLEWARES: Record<'adapter' | 'facade', () => Middleware> = {
  adapter: () =>
    sessionMiddleware(testManager({ store: memoryStore({ sweepInterval: 0 }) })) as Middleware,
  facade: () =>
    session({
      secret: 'a-secret-long-enough-for-these-tests-0123456789',
      resave: false,
      saveUninitialized: false,
    }) as Middleware,
};

async function probe(
  build: (route: (req: IncomingMessage, res: ServerResponse) => void) => http.RequestListener,
  hasFastProperties: (o: object) => boolean,
  haveSameMap: (a: object, b: object) => boolean,
): Promise<Seen> {
  const seen: [IncomingMessage, ServerResponse][] = [];
  const server = await listen(
    http.createServer(
      build((req, res) => {
        seen.push([req, res]);
        res.end('ok');
      }),
    ),
  );
  for (let i = 0; i < 4; i++) await (await fetch(`${server.url}/`)).text();
  await server.close();
  // The last two: by then a first request's field generalizations are behind.
  const [[req1, res1], [req2, res2]] = seen.slice(-2) as [
    [IncomingMessage, ServerResponse],
    [IncomingMessage, ServerResponse],
  ];
  return {
    requestFast: [hasFastProperties(req1), hasFastProperties(req2)],
    responseFast: [hasFastProperties(res1), hasFastProperties(res2)],
    requestsShareMap: haveSameMap(req1, req2),
    responsesShareMap: haveSameMap(res1, res2),
  };
}

function onExpress(factory: typeof express, middleware: Middleware | undefined) {
  return (route: (req: IncomingMessage, res: ServerResponse) => void) => {
    const app = factory();
    if (middleware) app.use(middleware as never);
    // One property added after the session middleware, as any app or later middleware does.
    app.use((req, _res, next) => {
      (req as unknown as { later: number }).later = 1;
      next();
    });
    app.get('/', (req, res) => route(req, res));
    return app as unknown as http.RequestListener;
  };
}

async function main(): Promise<void> {
  // Natives are parsed only where the flag was given at start: behind the Function constructor,
  // this file itself stays plain TypeScript.
  const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (
    o: object,
  ) => boolean;
  const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (
    a: object,
    b: object,
  ) => boolean;
  const results: Record<string, Seen> = {};
  const run = (build: Parameters<typeof probe>[0]) => probe(build, hasFastProperties, haveSameMap);
  for (const [name, factory] of EXPRESSES) {
    results[`${name}, bare`] = await run(onExpress(factory, undefined));
    results[`${name}, adapter`] = await run(onExpress(factory, SESSION_MIDDLEWARES.adapter()));
    results[`${name}, facade`] = await run(onExpress(factory, SESSION_MIDDLEWARES.facade()));
  }
  const plain = SESSION_MIDDLEWARES.facade();
  results['node:http, facade'] = await run((route) => (req, res) => {
    (plain as (req: unknown, res: unknown, next: () => void) => void)(req, res, () =>
      route(req, res),
    );
  });
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
