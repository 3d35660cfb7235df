/**
 * `sessionkit` — what makes a store a sealed-cookie store: the `cookieStore()` brand and options
 * (`sessionkit/stores/cookie` makes them), and the settings a manager resolves from it once —
 * the `cookie-seal` keys, the chunk cookies, whether revocation is available. The lifecycle
 * itself is in `stateless.ts`.
 */

import { type ChunkCookies, chunkCookies } from './chunks.js';
import type { ResolvedCookieOptions } from './cookie.js';
import { warnOnce } from './diagnostics.js';
import { ConfigError } from './errors.js';
import type { KeyRing } from './keys.js';
import { aeadCodec, createSealKeys, type TokenCodec } from './sealed.js';
import type { SessionStore } from './store.js';

/** Marks a store made by `cookieStore()`; its value is the store's options. */
export const COOKIE_STORE: unique symbol = Symbol.for('sessionkit.cookieStore') as never;

/** Marks a store made by `hybridStore()`; its value is the stateless side's settings. */
export const HYBRID_STORE: unique symbol = Symbol.for('sessionkit.hybridStore') as never;

/** Options of `cookieStore()` (`sessionkit/stores/cookie`). */
export interface CookieStoreOptions {
  /**
   * Clock leeway, in ms, when checking a sealed session's `iat`, idle deadline and `exp`: servers'
   * clocks drift. At most 300 000 (5 minutes).
   * @default 5_000
   */
  leeway?: number;
  /**
   * A small server-side store (any `SessionStore`: memory, Redis, SQL…) that makes sealed sessions
   * revocable: a denylist of revoked session ids until their `exp`, and per signed-in user a
   * revocation generation and the list of live sessions. Signed-in requests read it (two reads,
   * in parallel); anonymous ones never do. Without it, `revokeSession`, `revokeAll`,
   * `listSessions` and `maxSessionsPerUser` throw `ConfigError`, and a copy of a logged-out
   * cookie stays valid until its deadline (docs/stateless.md, "Revocation").
   * @default undefined (no revocation)
   */
  revocation?: SessionStore;
  /**
   * Most cookies one session may span: `1` keeps it in one cookie (`name`), up to `4` allows
   * `name.0`…`name.3`. A session that does not fit fails its commit with `ERR_SESSION_TOO_LARGE`.
   * Four full cookies make a request header of about 16 KiB: raise the server's header limit
   * (Node: `maxHeaderSize`, default 16 KiB for all headers) before allowing them.
   * @default 3
   */
  maxChunks?: number;
  /**
   * How many tokens this process remembers — those it sealed or opened lately, with what they
   * hold — so that a token presented again is not decrypted again: a client sends back the token
   * of its last response, so most requests skip the AES-GCM open and its `JSON.parse`. Only
   * tokens that authenticated are kept; a presented token must equal a kept one exactly
   * (compared in constant time), and every check after opening (deadlines, revocation,
   * fingerprint) still runs. Costs memory: up to this many plaintexts of at most one cookie
   * each. `0` turns it off (every token is decrypted). docs/stateless.md, "The token cache".
   * @default 1000
   */
  tokenCache?: number;
}

/** What the manager reads of a `cookieStore()`. */
export interface CookieStoreSettings {
  readonly leeway: number;
  readonly maxChunks: number;
  /** Tokens the AES-GCM codec remembers (`0`: none; unused by a JWT store). */
  readonly tokenCache: number;
  /** A revocation store was given (the cookie store's own methods delegate to it). */
  readonly revocation: boolean;
  /** How tokens are made from the manager's key ring; AES-GCM when absent (`jwtStore()` sets it). */
  readonly codec?: ((ring: KeyRing) => TokenCodec) | undefined;
}

/** What the manager reads of a `hybridStore()`: its stateless side's settings. */
export interface HybridStoreSettings {
  readonly leeway: number;
  readonly maxChunks: number;
  /** Tokens the stateless side's AES-GCM codec remembers (`0`: none). */
  readonly tokenCache: number;
}

/**
 * A write-on-demand hybrid store (`sessionkit/stores/hybrid`): a `SessionStore` whose methods are
 * its server-side store's, which the manager recognises — sessions stay sealed in the cookie while
 * small and anonymous, and move to the server-side store when they need it (docs/stateless.md).
 */
export interface HybridStore extends SessionStore {
  readonly [HYBRID_STORE]: HybridStoreSettings;
}

/**
 * A sealed-cookie store: a `SessionStore` the manager recognises. Its own methods reach the
 * revocation store, when there is one; without one they reject with `ConfigError`.
 */
export interface CookieStore extends SessionStore {
  readonly [COOKIE_STORE]: CookieStoreSettings;
}

/** The sealed-cookie settings of a manager, resolved once. @internal */
export interface SealedConfig {
  /** Seals and opens tokens: AES-GCM under the `cookie-seal` keys, or a JWT (`jwt.ts`). */
  readonly codec: TokenCodec;
  readonly leeway: number;
  readonly maxChunks: number;
  readonly names: ChunkCookies;
  /** Signed-in sessions are checked against the revocation store (`revocation.ts`). */
  readonly revocation: boolean;
  /**
   * A `hybridStore()`: these are the settings of its stateless side, and a session moves to the
   * server-side store when it needs to (`hybrid.ts`).
   */
  readonly hybrid: boolean;
}

/** `true` when `store` was made by `cookieStore()`. */
export function isCookieStore(store: SessionStore): store is CookieStore {
  return typeof (store as Partial<CookieStore>)[COOKIE_STORE] === 'object';
}

/** `true` when `store` was made by `hybridStore()`. */
export function isHybridStore(store: SessionStore): store is HybridStore {
  return typeof (store as Partial<HybridStore>)[HYBRID_STORE] === 'object';
}

/**
 * The sealed-cookie settings for `store` — a cookie store, or the stateless side of a hybrid
 * store — or `undefined` for a server-side store. Derives the seal keys now, once. @internal
 */
export function resolveSealed(
  store: SessionStore,
  keys: KeyRing,
  cookie: ResolvedCookieOptions,
): SealedConfig | undefined {
  if (isHybridStore(store)) {
    const { leeway, maxChunks, tokenCache } = store[HYBRID_STORE];
    const codec = aeadCodec(createSealKeys(keys, 'hybrid-seal'), tokenCache);
    return {
      codec,
      leeway,
      maxChunks,
      names: chunkCookies(cookie),
      revocation: false,
      hybrid: true,
    };
  }
  if (!isCookieStore(store)) return undefined;
  const { leeway, maxChunks, revocation } = store[COOKIE_STORE];
  if (!revocation) warnUnrevocable();
  const settings = store[COOKIE_STORE];
  // Derived once, here: sealing and opening then cost one AES-GCM (or one JWS) operation.
  const codec = settings.codec?.(keys) ?? aeadCodec(createSealKeys(keys), settings.tokenCache);
  return { codec, leeway, maxChunks, names: chunkCookies(cookie), revocation, hybrid: false };
}

/** Say once per process that sealed sessions without a revocation store cannot be revoked. */
function warnUnrevocable(): void {
  warnOnce(
    'SESSIONKIT_NO_REVOCATION',
    'sessionkit: sealed-cookie sessions without a revocation store cannot be revoked — a copy of a logged-out cookie stays valid until its idle or absolute deadline. Pass cookieStore({ revocation: store }); see docs/stateless.md.',
  );
}

/** The `ConfigError` for lock mode on sealed cookies. @internal */
export function lockUnavailable(): ConfigError {
  return new ConfigError(
    'Concurrency mode "lock" is not available with sealed-cookie sessions (cookieStore): the session travels in the cookie, so there is nothing to lock — parallel responses each carry a cookie and the last one wins. Use "merge" (the default) or "none"; see docs/stateless.md.',
  );
}
