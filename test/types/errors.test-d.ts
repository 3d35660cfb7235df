/**
 * Type tests: session errors narrow by `code` (each `@ts-expect-error` must be needed, or `tsc`
 * fails).
 */

import { expectTypeOf } from 'vitest';
import {
  type AnySessionError,
  ConfigError,
  type ConflictError,
  type ConflictReason,
  type CsrfFailureReason,
  isSessionError,
  type LockTimeoutError,
  SessionError,
  type SessionErrorCode,
  type StoreError,
} from '../../src/index.js';

declare const err: unknown;

if (isSessionError(err)) {
  expectTypeOf(err).toEqualTypeOf<AnySessionError>();
  expectTypeOf(err.code).toEqualTypeOf<SessionErrorCode>();
  expectTypeOf(err.status).toEqualTypeOf<number>();
  // @ts-expect-error -- `reason` exists only once the code says which error this is
  void err.reason;
  switch (err.code) {
    case 'ERR_SESSION_CONFLICT':
      expectTypeOf(err).toEqualTypeOf<ConflictError>();
      expectTypeOf(err.reason).toEqualTypeOf<ConflictReason>();
      expectTypeOf(err.keys).toEqualTypeOf<readonly string[]>();
      break;
    case 'ERR_SESSION_LOCK_TIMEOUT':
      expectTypeOf(err.retryAfter).toEqualTypeOf<number>();
      break;
    case 'ERR_SESSION_CSRF':
      expectTypeOf(err.reason).toEqualTypeOf<CsrfFailureReason>();
      break;
    case 'ERR_SESSION_TOO_LARGE':
      expectTypeOf(err.limit).toEqualTypeOf<number>();
      break;
    case 'ERR_SESSION_LIMIT':
      expectTypeOf(err.limit).toEqualTypeOf<number>();
      break;
    case 'ERR_SESSION_STORE':
      expectTypeOf(err).toEqualTypeOf<StoreError>();
      break;
    default:
      expectTypeOf(err.code).toEqualTypeOf<
        'ERR_SESSION_CONFIG' | 'ERR_SESSION_DATA' | 'ERR_SESSION_INVALID_KEY' | 'ERR_SESSION_STATE'
      >();
  }
}

// The code argument narrows to the subclass at once.
if (isSessionError(err, 'ERR_SESSION_CONFLICT')) {
  expectTypeOf(err).toEqualTypeOf<ConflictError>();
  expectTypeOf(err.reason).toEqualTypeOf<ConflictReason>();
}
if (isSessionError(err, 'ERR_SESSION_LOCK_TIMEOUT')) {
  expectTypeOf(err).toEqualTypeOf<LockTimeoutError>();
}
// @ts-expect-error -- not a sessionkit code
isSessionError(err, 'ERR_SOMETHING_ELSE');

// Each class carries its own literal code; the base class stays usable as before.
expectTypeOf(new ConfigError('x').code).toEqualTypeOf<'ERR_SESSION_CONFIG'>();
expectTypeOf<SessionError['code']>().toEqualTypeOf<SessionErrorCode>();
expectTypeOf(new SessionError('ERR_SESSION_STATE', 'x')).toMatchTypeOf<SessionError>();
expectTypeOf<ConflictError>().toMatchTypeOf<SessionError>();
