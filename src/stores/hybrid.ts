/**
 * `sessionkit/stores/hybrid` — write-on-demand sessions: a session is sealed in the cookie (no
 * store I/O to write it, no record) while it is small and anonymous, and moves to the server-side
 * `store` when it signs in, outgrows the cookie, or the app calls `session.moveServerSide()`.
 *
 * ```ts
 * const manager = createSessionManager({
 *   store: hybridStore({ store: redisStore({ client }) }),
 *   secrets: [process.env.SESSION_SECRET!],
 * });
 * ```
 *
 * After the move the cookie holds only the signed id, and everything — compare-and-set merge,
 * lock mode, revocation, the per-user index and limit — is the server-side store's. A move
 * denylists the stateless session in `store` until its absolute deadline, so a replayed copy of
 * its sealed token is refused. docs/stateless.md ("The hybrid") has the costs and the caveats.
 */

import { ConfigError } from '../core/errors.js';
import {
  HYBRID_STORE,
  type HybridStore,
  isCookieStore,
  isHybridStore,
} from '../core/sealed-config.js';
import { isSessionStore, type SessionStore } from '../core/store.js';
import { statelessSettings } from './_sealed.js';

export type { HybridStore } from '../core/sealed-config.js';

/** Options of {@link hybridStore}. */
export interface HybridStoreOptions {
  /**
   * The server-side store (any `SessionStore`: memory, SQLite, Redis, PostgreSQL, MySQL, tiered…)
   * that holds sessions once they moved, and the denylist of moved stateless sessions. Required.
   */
  store: SessionStore;
  /**
   * Clock leeway, in ms, when checking a stateless session's `iat`, idle deadline and `exp`. At
   * most 300 000 (5 minutes).
   * @default 5_000
   */
  leeway?: number | undefined;
  /**
   * Most cookies a stateless session may span (`1` to `4`); a session that outgrows them moves
   * server-side instead of failing.
   * @default 3
   */
  maxChunks?: number | undefined;
  /**
   * How many stateless tokens this process remembers so that one presented again is not
   * decrypted again (as `cookieStore()`'s `tokenCache`; `0`: off).
   * @default 1000
   */
  tokenCache?: number | undefined;
}

/**
 * Create a hybrid store, to pass as the manager's `store`. Its methods are `store`'s (the optional
 * ones too, where `store` has them), so every manager option that needs them — `concurrency:
 * 'lock'`, `maxSessionsPerUser`, `encrypt` — works as with `store` itself. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) at once when `store` is not a `SessionStore` or is a cookie, JWT or hybrid
 * store, for a `leeway` outside 0–300 000 ms, a `maxChunks` outside 1–4 or a `tokenCache` outside
 * 0–100 000. `close()` closes `store`.
 */
export function hybridStore(options: HybridStoreOptions): HybridStore {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('hybridStore() needs an options object with `store`.');
  }
  const { store } = options;
  if (!isSessionStore(store)) {
    throw new ConfigError(
      'hybridStore: `store` must be a SessionStore (get, set, touch and delete), e.g. redisStore({ client }).',
    );
  }
  if (isCookieStore(store) || isHybridStore(store)) {
    throw new ConfigError(
      'hybridStore: `store` must be a server-side store; a cookie, JWT or hybrid store keeps no records.',
    );
  }
  const settings = Object.freeze(statelessSettings('hybridStore', options));
  const hybrid: SessionStore = {
    name: `hybrid-${store.name}`,
    get: (key, o) => store.get(key, o),
    set: (key, record, o) => store.set(key, record, o),
    touch: (key, expiresAt, o) => store.touch(key, expiresAt, o),
    delete: (key, o) => store.delete(key, o),
  };
  // The optional methods exactly where `store` has them: the manager checks for them.
  if (store.lock !== undefined) hybrid.lock = (key, o) => store.lock!(key, o);
  if (store.unlock !== undefined) hybrid.unlock = (key, o) => store.unlock!(key, o);
  if (store.listByUser !== undefined) hybrid.listByUser = (u, o) => store.listByUser!(u, o);
  if (store.deleteByUser !== undefined) hybrid.deleteByUser = (u, o) => store.deleteByUser!(u, o);
  if (store.prune !== undefined) hybrid.prune = (o) => store.prune!(o);
  if (store.ids !== undefined) hybrid.ids = (o) => store.ids!(o);
  if (store.close !== undefined) hybrid.close = () => store.close!();
  return Object.assign(hybrid, { [HYBRID_STORE]: settings });
}
