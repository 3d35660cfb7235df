/**
 * Type tests: the manager's generics flow into every accessor and adapter; misuse fails to
 * compile (each `@ts-expect-error` must be needed, or `tsc` fails).
 */

import { expectTypeOf } from 'vitest';
import { sessionMiddleware as expressMiddleware } from '../../src/adapters/express.js';
import { sessionMiddleware, withSession } from '../../src/adapters/node.js';
import {
  createSessionManager,
  type Session,
  type SessionMeta,
  type SessionPath,
  type SessionPathValue,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

interface AppData {
  user: { id: string; profile: { name: string; age: number } };
  counter: number;
  tags: string[];
}
interface FlashData {
  success: string;
  form: { email: string };
}

expectTypeOf<SessionPath<AppData>>().toEqualTypeOf<
  | 'user'
  | 'user.id'
  | 'user.profile'
  | 'user.profile.name'
  | 'user.profile.age'
  | 'counter'
  | 'tags'
>();
expectTypeOf<SessionPathValue<AppData, 'user.profile.age'>>().toEqualTypeOf<number>();
expectTypeOf<SessionPath<Record<string, unknown>>>().toEqualTypeOf<string>();

const manager = createSessionManager<AppData, FlashData>({
  store: memoryStore(),
  secrets: ['type-test-secret-0123456789-abcdefghijklmnop'],
});
const session = manager.begin({}).session;
expectTypeOf(session).toEqualTypeOf<Session<AppData, FlashData>>();

expectTypeOf(session.get('user.profile.name')).resolves.toEqualTypeOf<string | undefined>();
expectTypeOf(session.get('tags')).resolves.toEqualTypeOf<string[] | undefined>();
expectTypeOf(session.update('counter', (n) => (n ?? 0) + 1)).resolves.toEqualTypeOf<number>();
expectTypeOf(session.meta()).resolves.toEqualTypeOf<Readonly<SessionMeta>>();
expectTypeOf(session.flash.get('form')).resolves.toEqualTypeOf<{ email: string } | undefined>();
expectTypeOf(session.flash.messages('success')).resolves.toEqualTypeOf<string[]>();

session.set('user.profile.age', 3);
session.merge({ counter: 1 });
// @ts-expect-error wrong value type
session.set('counter', 'one');
// @ts-expect-error unknown path
session.set('user.email', 'x');
// @ts-expect-error unknown path on read
void session.get('nope');
// @ts-expect-error update must return the path's type
void session.update('counter', () => 'x');
// @ts-expect-error merge takes known keys only
session.merge({ other: 1 });
// @ts-expect-error unknown flash kind
session.flash.add('warning', 'x');
// @ts-expect-error flash value type
session.flash.set('form', { email: 1 });

// Adapters carry the generics.
const node = sessionMiddleware(manager);
expectTypeOf(node.get).returns.toEqualTypeOf<Session<AppData, FlashData>>();
const express = expressMiddleware(manager);
expectTypeOf(express.get).returns.toEqualTypeOf<Session<AppData, FlashData>>();
withSession(manager, (_req, _res, s) => {
  expectTypeOf(s).toEqualTypeOf<Session<AppData, FlashData>>();
});
