/**
 * Private (not exported from the package): what `cookieStore()` and `jwtStore()` share — checking
 * the stateless options (also `hybridStore()`'s, for its stateless side) and making the store the
 * manager recognises, whose own methods reach the revocation store (so the manager's store
 * gateway covers revocation I/O too).
 */

import { MAX_CHUNKS } from '../core/chunks.js';
import { ConfigError } from '../core/errors.js';
import type { KeyRing } from '../core/keys.js';
import type { TokenCodec } from '../core/sealed.js';
import { COOKIE_STORE, type CookieStore, type CookieStoreOptions } from '../core/sealed-config.js';
import { isSessionStore, type SessionStore } from '../core/store.js';
import { MEMO_MAX_CAPACITY } from '../core/token-memo.js';

/**
 * Three chunks by default: four full ones make a `Cookie` request header of about 16 KiB, which
 * Node's default `maxHeaderSize` (16 KiB for all headers) refuses with 431.
 */
const DEFAULT_CHUNKS = 3;

/** Largest `leeway`: 5 minutes (docs/security.md §13). */
const MAX_LEEWAY = 300_000;

/** Tokens the AES-GCM codec remembers by default (`tokenCache`). */
const DEFAULT_TOKEN_CACHE = 1000;

/**
 * A stateless store named `name` (`cookie`, `jwt`), with `codec` making its tokens (AES-GCM when
 * absent). Throws `ConfigError` naming `factory` for a `leeway` outside 0–300 000 ms, a
 * `maxChunks` outside 1–4, a `tokenCache` outside 0–100 000 (or given with `codec`: it is the
 * AES-GCM codec's) or a `revocation` that is not a `SessionStore`. @internal
 */
export function statelessStore(
  factory: string,
  name: string,
  options: CookieStoreOptions,
  codec?: (ring: KeyRing) => TokenCodec,
): CookieStore {
  const { revocation } = options;
  if (codec !== undefined && options.tokenCache !== undefined) {
    throw new ConfigError(
      `${factory}: \`tokenCache\` is cookieStore()'s (the AES-GCM token's memo); a ${name} store verifies every token.`,
    );
  }
  const { leeway, maxChunks, tokenCache } = statelessSettings(factory, options);
  if (revocation !== undefined && !isSessionStore(revocation)) {
    throw new ConfigError(
      `${factory}: \`revocation\` must be a SessionStore (get, set, touch and delete), e.g. redisStore({ client }).`,
    );
  }
  const store: SessionStore =
    revocation === undefined
      ? { name, get: unavailable, set: unavailable, touch: unavailable, delete: unavailable }
      : {
          name,
          get: (key, o) => revocation.get(key, o),
          set: (key, record, o) => revocation.set(key, record, o),
          touch: (key, expiresAt, o) => revocation.touch(key, expiresAt, o),
          delete: (key, o) => revocation.delete(key, o),
        };
  const settings = { leeway, maxChunks, tokenCache, revocation: revocation !== undefined, codec };
  return Object.assign(store, { [COOKIE_STORE]: Object.freeze(settings) });
}

/**
 * The `leeway` (default 5 000 ms), `maxChunks` (default 3) and `tokenCache` (default 1 000) of a
 * stateless store's options. Throws `ConfigError` naming `factory` for a `leeway` outside
 * 0–300 000 ms, a `maxChunks` outside 1–4 or a `tokenCache` outside 0–100 000. @internal
 */
export function statelessSettings(
  factory: string,
  options: {
    leeway?: number | undefined;
    maxChunks?: number | undefined;
    tokenCache?: number | undefined;
  },
): { leeway: number; maxChunks: number; tokenCache: number } {
  const { leeway = 5_000, maxChunks = DEFAULT_CHUNKS, tokenCache = DEFAULT_TOKEN_CACHE } = options;
  if (!Number.isSafeInteger(leeway) || leeway < 0 || leeway > MAX_LEEWAY) {
    throw new ConfigError(
      `${factory}: \`leeway\` must be a whole number of milliseconds from 0 to ${MAX_LEEWAY} (default 5000).`,
    );
  }
  if (!Number.isSafeInteger(maxChunks) || maxChunks < 1 || maxChunks > MAX_CHUNKS) {
    throw new ConfigError(
      `${factory}: \`maxChunks\` must be an integer from 1 to ${MAX_CHUNKS} (default ${DEFAULT_CHUNKS}).`,
    );
  }
  if (!Number.isSafeInteger(tokenCache) || tokenCache < 0 || tokenCache > MEMO_MAX_CAPACITY) {
    throw new ConfigError(
      `${factory}: \`tokenCache\` must be an integer from 0 (off) to ${MEMO_MAX_CAPACITY} (default ${DEFAULT_TOKEN_CACHE}).`,
    );
  }
  return { leeway, maxChunks, tokenCache };
}

/** Without a revocation store a stateless store holds no records: the manager never calls these. */
function unavailable(): Promise<never> {
  return Promise.reject(
    new ConfigError(
      'This stateless store has no revocation store, so it keeps no records on the server; see docs/stateless.md.',
    ),
  );
}
