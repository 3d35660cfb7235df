/**
 * Type tests: typed session data behind the express-session facade, in a program that also has
 * `@types/express-session` (this repository's, as in an app that is migrating). Its
 * `declare module 'express-session' { interface SessionData }` keeps typing `req.session` in
 * Express handlers after the import switch; the facade's own `SessionData` (augmented through
 * `sessionkit/express-session`) types `SessionRequestFields`; the middleware fits `app.use`; and
 * misuse fails to compile (each `@ts-expect-error` must be needed, or `tsc` fails). The program
 * without `@types/express-session` is checked by test/express-session/types.test.ts.
 */

import express, { type Request } from 'express';
import { expectTypeOf } from 'vitest';
import session, {
  type SessionData,
  type SessionMembers,
  type SessionRequestFields,
} from '../../src/express-session/index.js';

declare module 'express-session' {
  interface SessionData {
    views: number;
    user: { id: string; name: string };
  }
}

declare module '../../src/express-session/index.js' {
  interface SessionData {
    cartId: string;
  }
}

const app = express();
app.use(session({ secret: 'x'.repeat(32), resave: false, saveUninitialized: false }));

app.get('/', (req: Request, res) => {
  // The augmentation written for express-session types req.session unchanged.
  expectTypeOf(req.session.views).toEqualTypeOf<number | undefined>();
  expectTypeOf(req.session.user).toEqualTypeOf<{ id: string; name: string } | undefined>();
  req.session.views = (req.session.views ?? 0) + 1;
  // @ts-expect-error: views is a number
  req.session.views = 'many';
  // @ts-expect-error: not declared anywhere
  req.session.undeclared = true;
  expectTypeOf(req.sessionID).toEqualTypeOf<string>();
  req.session.regenerate(() => undefined);
  res.send(String(req.session.views));
});

// The facade's own data type: its augmentation, every key optional on req.session.
expectTypeOf<SessionData>().toEqualTypeOf<{ cartId: string }>();
expectTypeOf<SessionRequestFields['session']['cartId']>().toEqualTypeOf<string | undefined>();
expectTypeOf<SessionRequestFields['session']>().toMatchTypeOf<SessionMembers>();
expectTypeOf<SessionRequestFields['sessionID']>().toEqualTypeOf<string>();

// The facade's runtime session (the class) is assignable to what handlers are typed with.
declare const runtime: InstanceType<typeof session.Session>;
const members: SessionMembers = runtime;
expectTypeOf(members.cookie.originalMaxAge).toEqualTypeOf<number | null>();
