/**
 * `sessionkit/stores/jwt` — stateless sessions as signed JWTs, for interop: other services can
 * verify the session with any JWT library and the configured key. The session travels in the
 * cookie (chunked like a sealed cookie when large) or, with `transport: 'bearer'`, in
 * `Authorization`. Needs the optional peer dependency `jose` (^6), loaded on first use.
 *
 * ```ts
 * const manager = createSessionManager({
 *   store: jwtStore({ issuer: 'https://app.example', audience: 'api' }),
 *   secrets: [process.env.SESSION_SECRET!],
 *   transport: 'bearer',
 * });
 * ```
 *
 * The JWT is the interoperable format; the sealed cookie (`sessionkit/stores/cookie`) is the fast
 * one and keeps the payload secret — a JWT's payload is signed, not encrypted: the client can read
 * it. Everything else — timeouts, leeway, chunking, revocation, concurrency — is the sealed
 * cookie's (docs/stateless.md).
 */

import { ConfigError } from '../core/errors.js';
import {
  checkJwtKeys,
  type JwtAlgorithm,
  type JwtKey,
  jwtCodec,
  requireJose,
} from '../core/jwt.js';
import type { CookieStore, CookieStoreOptions } from '../core/sealed-config.js';
import { statelessStore } from './_sealed.js';

export type { JwtAlgorithm, JwtKey } from '../core/jwt.js';
export type { CookieStore } from '../core/sealed-config.js';

/** Options of {@link jwtStore}: the stateless options plus the JWT's own. */
export interface JwtStoreOptions extends CookieStoreOptions {
  /**
   * The one algorithm tokens are signed and verified with (a token with any other `alg`,
   * `none` included, is refused). `HS256` uses the manager's `secrets` (an HKDF subkey per
   * secret, `kid` = the secret's id); `EdDSA` (Ed25519) and `ES256` (P-256) use `keys`.
   * @default 'HS256'
   */
  algorithm?: JwtAlgorithm;
  /**
   * Asymmetric keys for `EdDSA`/`ES256`, primary first: the first (with a `privateKey`) signs,
   * the others only verify. Refused with `HS256`.
   * @default undefined
   */
  keys?: readonly JwtKey[];
  /**
   * The `iss` claim written and required.
   * @default 'sessionkit'
   */
  issuer?: string;
  /**
   * The `aud` claim written and required.
   * @default 'sessionkit'
   */
  audience?: string;
}

/**
 * Create a JWT store, to pass as the manager's `store`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) at once when `jose` cannot be loaded, for an unknown `algorithm`,
 * `keys` missing (`EdDSA`, `ES256`) or given (`HS256`) or of the wrong type, an empty `issuer` or
 * `audience`, and for the options `cookieStore()` refuses.
 */
export function jwtStore(options: JwtStoreOptions = {}): CookieStore {
  const { algorithm = 'HS256', keys, issuer = 'sessionkit', audience = 'sessionkit' } = options;
  if (!['HS256', 'EdDSA', 'ES256'].includes(algorithm)) {
    throw new ConfigError('jwtStore: `algorithm` must be "HS256", "EdDSA" or "ES256".');
  }
  if (algorithm === 'HS256' && keys !== undefined) {
    throw new ConfigError(
      'jwtStore: HS256 signs with the manager\'s `secrets`; `keys` are for "EdDSA" and "ES256".',
    );
  }
  if (algorithm !== 'HS256') checkJwtKeys(algorithm, keys ?? []);
  for (const [name, value] of [
    ['issuer', issuer],
    ['audience', audience],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
      throw new ConfigError(
        `jwtStore: \`${name}\` must be a non-empty string of at most 256 characters.`,
      );
    }
  }
  requireJose();
  const settings = { algorithm, keys, issuer, audience, leeway: options.leeway ?? 5_000 };
  return statelessStore('jwtStore', 'jwt', options, (ring) => jwtCodec(settings, ring));
}
