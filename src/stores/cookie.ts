/**
 * `sessionkit/stores/cookie` — sealed-cookie sessions: the whole session travels in the cookie,
 * encrypted and authenticated (AES-256-GCM under the manager's key ring), and nothing is stored
 * on the server.
 *
 * ```ts
 * const manager = createSessionManager({ store: cookieStore(), secrets: [process.env.SESSION_SECRET!] });
 * ```
 *
 * Everything else is the manager's: timeouts, key rotation, cookie attributes, adapters. What
 * differs from a server-side store — size limits and chunking, concurrency, revocation — is in
 * docs/stateless.md.
 */

import { MAX_CHUNKS } from '../core/chunks.js';
import { ConfigError } from '../core/errors.js';
import { COOKIE_STORE, type CookieStore, type CookieStoreOptions } from '../core/sealed-config.js';
import { isSessionStore, type SessionStore } from '../core/store.js';

export type { CookieStore, CookieStoreOptions } from '../core/sealed-config.js';

/**
 * Three chunks by default: four full ones make a `Cookie` request header of about 16 KiB, which
 * Node's default `maxHeaderSize` (16 KiB for all headers) refuses with 431.
 */
const DEFAULT_CHUNKS = 3;

/** Largest `leeway`: 5 minutes (docs/security.md §13). */
const MAX_LEEWAY = 300_000;

/**
 * Create a sealed-cookie store, to pass as the manager's `store`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) at once for a `leeway` outside 0–300 000 ms, a `maxChunks` outside 1–4
 * or a `revocation` that is not a `SessionStore`. The manager refuses `concurrency: 'lock'` and
 * `encrypt` with it, and `maxSessionsPerUser` without `revocation`. Never closes the revocation
 * store (whoever created it closes it).
 */
export function cookieStore(options: CookieStoreOptions = {}): CookieStore {
  const { leeway = 5_000, maxChunks = DEFAULT_CHUNKS } = options;
  if (!Number.isSafeInteger(leeway) || leeway < 0 || leeway > MAX_LEEWAY) {
    throw new ConfigError(
      `cookieStore: \`leeway\` must be a whole number of milliseconds from 0 to ${MAX_LEEWAY} (default 5000).`,
    );
  }
  if (!Number.isSafeInteger(maxChunks) || maxChunks < 1 || maxChunks > MAX_CHUNKS) {
    throw new ConfigError(
      `cookieStore: \`maxChunks\` must be an integer from 1 to ${MAX_CHUNKS} (default ${DEFAULT_CHUNKS}).`,
    );
  }
  const { revocation } = options;
  if (revocation !== undefined && !isSessionStore(revocation)) {
    throw new ConfigError(
      'cookieStore: `revocation` must be a SessionStore (get, set, touch and delete), e.g. redisStore({ client }).',
    );
  }
  // The manager reaches the revocation store through this store's own methods, so its store
  // gateway (deadline, StoreError, events, tracing) covers revocation I/O too.
  const store: SessionStore =
    revocation === undefined
      ? {
          name: 'cookie',
          get: unavailable,
          set: unavailable,
          touch: unavailable,
          delete: unavailable,
        }
      : {
          name: 'cookie',
          get: (key, o) => revocation.get(key, o),
          set: (key, record, o) => revocation.set(key, record, o),
          touch: (key, expiresAt, o) => revocation.touch(key, expiresAt, o),
          delete: (key, o) => revocation.delete(key, o),
        };
  const settings = { leeway, maxChunks, revocation: revocation !== undefined };
  return Object.assign(store, { [COOKIE_STORE]: Object.freeze(settings) });
}

/** Without a revocation store the cookie store holds no records: the manager never calls these. */
function unavailable(): Promise<never> {
  return Promise.reject(
    new ConfigError(
      'This cookie store has no revocation store, so it keeps no records on the server; see docs/stateless.md.',
    ),
  );
}
