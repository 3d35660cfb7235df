/**
 * Type tests: the manager's `AppData`/`FlashData` generics flow into the Fastify and Koa adapters
 * (typed accessors, Fastify's `request.session` through the documented module augmentation,
 * Koa's `ctx.session` through the app's context type), and misuse fails to compile (each
 * `@ts-expect-error` must be needed, or `tsc` fails).
 */

import Fastify, { type FastifyRequest } from 'fastify';
import Koa from 'koa';
import { expectTypeOf } from 'vitest';
import { getSession as fastifySession, sessionPlugin } from '../../src/adapters/fastify.js';
import {
  type KoaSessionContext,
  type KoaSessionState,
  getSession as koaSession,
  sessionMiddleware,
} from '../../src/adapters/koa.js';
import { createSessionManager, type Session } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

interface AppData {
  user: { id: string; name: string };
  counter: number;
}
interface FlashData {
  success: string;
}

// The documented way to type `request.session` for a whole Fastify app (module augmentation is
// global: one declaration per program).
declare module 'fastify' {
  interface FastifyRequest {
    session: Session<AppData, FlashData>;
  }
}

const manager = createSessionManager<AppData, FlashData>({
  store: memoryStore(),
  secrets: ['type-test-secret-0123456789-abcdefghijklmnop'],
});
const other = createSessionManager<{ theme: string }>({
  store: memoryStore(),
  secrets: ['type-test-secret-0123456789-abcdefghijklmnop'],
});

// ── Fastify ──────────────────────────────────────────────────────────────────────────────────
const app = Fastify();
void app.register(sessionPlugin, { manager });
void app.register(sessionPlugin, { manager, concurrency: 'lock' });
// @ts-expect-error the manager is required
void app.register(sessionPlugin, {});
// @ts-expect-error unknown concurrency mode
void app.register(sessionPlugin, { manager, concurrency: 'optimistic' });
// @ts-expect-error not a manager
void app.register(sessionPlugin, { manager: memoryStore() });

app.get('/', async (request) => {
  expectTypeOf(request.session).toEqualTypeOf<Session<AppData, FlashData>>();
  const session = fastifySession(request, manager);
  expectTypeOf(session).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(fastifySession<AppData, FlashData>(request)).toEqualTypeOf<
    Session<AppData, FlashData>
  >();
  expectTypeOf(session.get('user.name')).resolves.toEqualTypeOf<string | undefined>();
  expectTypeOf(session.flash.messages('success')).resolves.toEqualTypeOf<string[]>();
  expectTypeOf(fastifySession(request, other).get('theme')).resolves.toEqualTypeOf<
    string | undefined
  >();
  // @ts-expect-error wrong value type
  session.set('counter', 'one');
  // @ts-expect-error unknown path
  request.session.set('user.email', 'x');
  // @ts-expect-error unknown flash kind
  session.flash.add('warning', 'x');
  // @ts-expect-error the accessor takes a Fastify request
  fastifySession({}, manager);
  return { ok: true };
});
expectTypeOf(fastifySession).parameter(0).toEqualTypeOf<FastifyRequest>();

// ── Koa ──────────────────────────────────────────────────────────────────────────────────────
const sessions = sessionMiddleware(manager);
expectTypeOf(sessions.get).returns.toEqualTypeOf<Session<AppData, FlashData>>();
// @ts-expect-error the middleware takes a manager, not a store
sessionMiddleware(memoryStore());
// @ts-expect-error unknown concurrency mode
sessionMiddleware(manager, { concurrency: 'optimistic' });

// A plain Koa app accepts the middleware.
new Koa().use(sessions);

// The app's context type makes `ctx.session` typed in every middleware.
const koa = new Koa<
  Koa.DefaultState & KoaSessionState<AppData, FlashData>,
  KoaSessionContext<AppData, FlashData>
>();
koa.use(sessions);
koa.use(async (ctx) => {
  expectTypeOf(ctx.session).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(ctx.state.session).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(koaSession(ctx, manager)).toEqualTypeOf<Session<AppData, FlashData>>();
  expectTypeOf(ctx.session.update('counter', (n) => (n ?? 0) + 1)).resolves.toEqualTypeOf<number>();
  // @ts-expect-error wrong value type
  ctx.session.set('counter', 'one');
  // @ts-expect-error unknown path on read
  void ctx.session.get('nope');
  // @ts-expect-error flash value type
  ctx.session.flash.set('success', 1);
});
