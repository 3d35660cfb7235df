/**
 * Type tests: the `sessionkit:event` channel's messages are the `onEvent` events without user ids
 * (derived from `SessionEvent`), plus the channel-only `load` and `lock-wait`.
 */

import { expectTypeOf } from 'vitest';
import type { DiagnosticEvent } from '../../src/core/diagnostics.js';
import type { SessionEvent } from '../../src/index.js';

type Of<T extends DiagnosticEvent['type']> = Extract<DiagnosticEvent, { type: T }>;

// Every onEvent event type is published, and only load / lock-wait are added.
expectTypeOf<DiagnosticEvent['type']>().toEqualTypeOf<
  SessionEvent['type'] | 'load' | 'lock-wait'
>();
// create says whether it is signed in, never who.
expectTypeOf<Of<'create'>>().toHaveProperty('authenticated').toEqualTypeOf<boolean>();
// @ts-expect-error no user id on the channel
expectTypeOf<Of<'create'>>().toHaveProperty('userId');
// @ts-expect-error no user id on the channel
expectTypeOf<Of<'revoke'>>().toHaveProperty('userId');
// @ts-expect-error no user id on the channel
expectTypeOf<Of<'evict'>>().toHaveProperty('userId');
expectTypeOf<Of<'revoke'>>().toHaveProperty('handle').toEqualTypeOf<string>();
expectTypeOf<Of<'brute-force'>>().toHaveProperty('ip').toEqualTypeOf<string>();
expectTypeOf<Of<'load'>>().toHaveProperty('store').toEqualTypeOf<string>();
