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

import type { CookieStore, CookieStoreOptions } from '../core/sealed-config.js';
import { statelessStore } from './_sealed.js';

export type { CookieStore, CookieStoreOptions } from '../core/sealed-config.js';

/**
 * Create a sealed-cookie store, to pass as the manager's `store`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) at once for a `leeway` outside 0–300 000 ms, a `maxChunks` outside 1–4,
 * a `tokenCache` outside 0–100 000 or a `revocation` that is not a `SessionStore`. The manager
 * refuses `concurrency: 'lock'` and `encrypt` with it, and `maxSessionsPerUser` without
 * `revocation`. Never closes the revocation store (whoever created it closes it).
 */
export function cookieStore(options: CookieStoreOptions = {}): CookieStore {
  return statelessStore('cookieStore', 'cookie', options);
}
