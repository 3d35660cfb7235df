/**
 * Type tests: the manager's `AppData`/`FlashData` flow into Hono's `c.get('session')` and the
 * fetch adapter's session; misuse fails to compile (each `@ts-expect-error` must be needed).
 */

import { Hono, type MiddlewareHandler } from 'hono';
import { expectTypeOf } from 'vitest';
import {
  createSessionScope,
  type FetchSessionScope,
  getSession as getFetchSession,
  withSession,
} from '../../src/adapters/fetch.js';
import {
  getSession as getHonoSession,
  type SessionEnv,
  sessionMiddleware,
} from '../../src/adapters/hono.js';
import { createSessionManager, type Session } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

interface AppData {
  user: { id: string; profile: { name: string } };
  counter: number;
}
interface FlashData {
  success: string;
}

const manager = createSessionManager<AppData, FlashData>({
  store: memoryStore(),
  secrets: ['type-test-secret-0123456789-abcdefghijklmnop'],
});
const other = createSessionManager<{ other: boolean }>({
  store: memoryStore(),
  secrets: ['type-test-secret-0123456789-abcdefghijklmnop'],
});

// Hono: the app's env types c.get('session').
const app = new Hono<SessionEnv<AppData, FlashData>>();
app.use(sessionMiddleware(manager));
app.post('/counter', async (c) => {
  const session = c.get('session');
  expectTypeOf(session).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(getHonoSession(c)).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(session.get('user.profile.name')).resolves.toEqualTypeOf<string | undefined>();
  const counter = await session.update('counter', (n) => (n ?? 0) + 1);
  expectTypeOf(counter).toEqualTypeOf<number>();
  session.flash.add('success', 'Saved');
  // @ts-expect-error wrong value type for a typed key
  session.set('counter', 'one');
  // @ts-expect-error unknown path
  void session.get('user.email');
  // @ts-expect-error unknown flash kind
  session.flash.add('warning', 'x');
  // @ts-expect-error not a variable of this env
  c.get('user');
  return c.json({ counter });
});

// Chained: the middleware's env alone types the routes after it.
new Hono().use(sessionMiddleware(manager)).get('/', (c) => {
  expectTypeOf(c.get('session')).toEqualTypeOf<Session<AppData, FlashData>>();
  return c.text('ok');
});

// Combined with the app's own bindings.
new Hono<SessionEnv<AppData, FlashData> & { Bindings: { TOKEN: string } }>()
  .use(sessionMiddleware(manager))
  .get('/', (c) => {
    expectTypeOf(c.get('session')).toEqualTypeOf<Session<AppData, FlashData>>();
    expectTypeOf(c.env.TOKEN).toEqualTypeOf<string>();
    return c.text('ok');
  });

// A middleware for another manager's data is not this env's middleware.
// @ts-expect-error Session<{ other: boolean }> is not Session<AppData, FlashData>
const wrong: MiddlewareHandler<SessionEnv<AppData, FlashData>> = sessionMiddleware(other);
void wrong;

sessionMiddleware(manager, {
  getClientIp: (c) => c.req.header('x-real-ip'),
  concurrency: 'lock',
});
// @ts-expect-error not a concurrency mode
sessionMiddleware(manager, { concurrency: 'optimistic' });

// fetch: the handler's session carries the manager's generics.
const handler = withSession(manager, async (request, session) => {
  expectTypeOf(request).toEqualTypeOf<Request>();
  expectTypeOf(session).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(session.get('user.id')).resolves.toEqualTypeOf<string | undefined>();
  // @ts-expect-error wrong value type
  session.set('user.profile.name', 42);
  // @ts-expect-error unknown flash kind
  session.flash.set('error', 'x');
  return Response.json({ ok: true });
});
expectTypeOf(handler).toEqualTypeOf<(request: Request) => Promise<Response>>();

// @ts-expect-error the handler must return a Response
withSession(manager, async () => 'not a response');
// @ts-expect-error getClientIp receives the Request and returns a string
withSession(manager, async () => new Response(), { getClientIp: (r: Request) => r.headers });

const scope = createSessionScope(manager, new Request('http://app.test/'));
expectTypeOf(scope).toEqualTypeOf<FetchSessionScope<AppData, FlashData>>();
expectTypeOf(scope.session).toEqualTypeOf<Session<AppData, FlashData>>();
expectTypeOf(scope.apply).toEqualTypeOf<(response: Response) => Promise<Response>>();
expectTypeOf(getFetchSession<AppData, FlashData>(new Request('http://app.test/'))).toEqualTypeOf<
  Session<AppData, FlashData>
>();
