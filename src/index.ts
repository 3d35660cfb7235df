/**
 * `sessionkit` — public core API. Re-exports only.
 */

export type { ClearSiteDataType } from './core/clear-site-data.js';
export type { DataObject, SessionMeta } from './core/codec.js';
export {
  type CookieOptions,
  MAX_COOKIE_AGE_MS,
  MAX_COOKIE_BYTES,
  type ResolvedCookieOptions,
} from './core/cookie.js';
export {
  type AnySessionError,
  ConfigError,
  ConflictError,
  type ConflictReason,
  CsrfError,
  type CsrfFailureReason,
  DataError,
  InvalidKeyError,
  type InvalidTokenReason,
  isSessionError,
  type KeySize,
  LockTimeoutError,
  SessionError,
  type SessionErrorCode,
  type SessionErrorOptions,
  SessionLimitError,
  StateError,
  StoreError,
  TooLargeError,
} from './core/errors.js';
export {
  createKeyRing,
  generateCsrfSecret,
  generateSecret,
  generateSessionId,
  hashSessionId,
  isSessionId,
  type KeyPurpose,
  type KeyRing,
  MIN_SECRET_BYTES,
  maskCsrfToken,
  SESSION_ID_LENGTH,
  type SecretInput,
  type SecretsOption,
  timingSafeEqualString,
  verifyCsrfToken,
} from './core/keys.js';
export {
  type BruteForceOptions,
  type ConcurrencyMode,
  createSessionManager,
  type FingerprintOptions,
  type IpPrefixOptions,
  type LockOptions,
  type ResealOptions,
  type ResealResult,
  type SessionEvent,
  type SessionInfo,
  type SessionManager,
  type SessionManagerOptions,
  type SessionRequest,
  type SessionResponse,
  type SessionScope,
} from './core/manager.js';
export type {
  DestroyOptions,
  Flash,
  LoginOptions,
  RegenerateOptions,
  Session,
  SessionStatus,
} from './core/session.js';
export {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isSessionStore,
  isStoreKey,
  type PruneProgress,
  type SessionStore,
  STORE_KEY_PATTERN,
  type StoreCallOptions,
  type StoreDeleteByUserOptions,
  type StoreDeleteOptions,
  type StoreEntry,
  type StoreLockOptions,
  type StorePruneOptions,
  type StoreRecord,
  type StoreSetOptions,
  type StoreUnlockOptions,
  throwIfAborted,
  toStoreError,
} from './core/store.js';
export type { DefaultData, DefaultFlash, SessionPath, SessionPathValue } from './core/types.js';
