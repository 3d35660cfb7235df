/**
 * `sessionkit` — the manager's options: every option with its `@default`, the lifecycle events it
 * reports, and the resolved shape the core reads. Resolution and validation live in
 * `resolve-options.ts`.
 */

import type { ClearSiteDataType } from './clear-site-data.js';
import type { ResolvedFingerprint } from './client.js';
import type { CodecLimits } from './codec.js';
import type { CookieOptions, ResolvedCookieOptions } from './cookie.js';
import type { ConflictReason, CsrfFailureReason, InvalidTokenReason } from './errors.js';
import type { BruteForceOptions } from './guesses.js';
import type { KeyRing, SecretsOption } from './keys.js';
import type { SealedConfig } from './sealed-config.js';
import type { SessionStore } from './store.js';
import type { ResolvedTransport, TransportOption } from './transport.js';

/** How concurrent requests on one session are reconciled. */
export type ConcurrencyMode = 'merge' | 'lock' | 'none';

/** Prefix binding of the client address: the network it must stay in (for mobile clients). */
export interface IpPrefixOptions {
  /**
   * Bits of an IPv4 address that must match (1–32).
   * @default 24
   */
  ipv4Prefix?: number;
  /**
   * Bits of an IPv6 address that must match (1–128).
   * @default 64
   */
  ipv6Prefix?: number;
}

/** Options of fingerprint binding. */
export interface FingerprintOptions {
  /**
   * Compare the client IP: `true` the whole address, an object its network (prefix binding, e.g.
   * `{}` for the /24 of IPv4 and the /64 of IPv6). Addresses are normalized first: an
   * IPv4-mapped IPv6 address is its IPv4 address, IPv6 spellings of one address are equal.
   * @default false
   */
  ip?: boolean | IpPrefixOptions;
  /**
   * Compare the User-Agent header. A session created without one is bound to its absence.
   * @default true
   */
  userAgent?: boolean;
  /**
   * What a mismatch does.
   * @default 'flag'
   */
  policy?: 'flag' | 'destroy';
}

/** Options of the lock mode. */
export interface LockOptions {
  /**
   * Lease length of a session lock, in ms; a crashed holder's lock frees itself after this. A
   * holder whose lease lapsed cannot write: its commit fails with a `lock-lost` conflict (409).
   * Keep it well above `storeTimeout`.
   * @default 30_000
   */
  ttl?: number;
  /**
   * Longest wait for a lock before failing with `ERR_SESSION_LOCK_TIMEOUT` (503), in ms.
   * @default 5_000
   */
  wait?: number;
}

/** Options of {@link createSessionManager}. */
export interface SessionManagerOptions {
  /**
   * Where sessions live: a server-side store, `cookieStore()` (`sessionkit/stores/cookie`) to
   * keep the whole session in a sealed cookie, or `hybridStore({ store })`
   * (`sessionkit/stores/hybrid`) to keep it sealed while anonymous and small and move it to
   * `store` when it signs in or grows (docs/stateless.md).
   */
  store: SessionStore;
  /**
   * Secrets for signing cookies: 32+ bytes each, the first is the primary, the others only
   * verify (key rotation). Weak or demo values are refused.
   */
  secrets: SecretsOption;
  /** Cookie attributes. Secure defaults; `{ secure: false }` is the explicit plain-http dev mode. */
  cookie?: CookieOptions;
  /**
   * Idle timeout in ms: a session unused this long is gone.
   * @default 1_800_000 (30 minutes)
   */
  idleTimeout?: number;
  /**
   * Absolute timeout in ms from creation; activity never extends it.
   * @default 43_200_000 (12 hours)
   */
  absoluteTimeout?: number;
  /**
   * An unmodified session's expiry is refreshed (one `touch`) at most this often, in ms.
   * @default 60_000
   */
  touchInterval?: number;
  /**
   * New sessions get a persistent ("remember me") cookie with Max-Age instead of a
   * browser-session cookie. Per session: `session.setPersistent()` / `login(id, { persistent })`.
   * @default false
   */
  persistent?: boolean;
  /**
   * Concurrency mode: `merge` (optimistic CAS + replay), `lock` (per-session lease lock; needs a
   * store with `lock`), `none` (last writer wins). A sealed session has no record to compare or
   * lock: `cookieStore()` refuses `lock`, and a `hybridStore()` moves a stateless session written
   * in `lock` mode server-side; across parallel requests a sealed cookie is last-response-wins in
   * every mode (docs/stateless.md).
   * @default 'merge'
   */
  concurrency?: ConcurrencyMode;
  /**
   * How many times a commit reloads and re-applies after losing a compare-and-set.
   * @default 20
   */
  maxRetries?: number;
  /** Lock mode settings. */
  lock?: LockOptions;
  /**
   * Bind sessions to the client's ip and/or user agent (defense in depth; both are spoofable or
   * change legitimately — mobile networks, browser updates). Compared as keyed hashes in constant
   * time against the values recorded at creation / login. `flag` sets `session.flagged`;
   * `destroy` deletes the session and treats the request as anonymous. Either emits
   * `fingerprint-mismatch`. The ip comes from the adapter (its trust-proxy setting).
   * @default undefined (off)
   */
  fingerprint?: FingerprintOptions;
  /**
   * The brute-force signal: failed guesses at a session (a forged signature, a signed id without
   * a record) are counted per client address — as the adapter resolved it, honouring its
   * trust-proxy setting; an IPv6 client by its /64 — and `threshold` of them within `window` ms
   * raise one `brute-force` event for that address (per window). At most `capacity` addresses
   * are tracked (those that stopped guessing are forgotten first), so a flood of addresses costs
   * bounded memory. Requests without an address are not counted. It only reports: blocking
   * is for your rate limiter or firewall to decide. `false` turns it off.
   * @default { threshold: 20, window: 60_000, capacity: 10_000 }
   */
  bruteForce?: BruteForceOptions | false;
  /**
   * What a session records of its client for "your devices" (`listSessions`): `full` keeps the
   * ip and User-Agent as received; `minimal` keeps only what a devices page shows — the network
   * of the ip (IPv4 /24, IPv6 /48, as `203.0.113.0/24`) and the browser family
   * (`'Firefox on Windows'`). Fingerprint binding works either way (it records keyed hashes).
   * @default 'full'
   */
  deviceInfo?: 'full' | 'minimal';
  /**
   * Most live sessions one user may have (needs a store with `listByUser`). When a login would
   * exceed it, `sessionLimit` decides.
   * @default undefined (no limit)
   */
  maxSessionsPerUser?: number;
  /**
   * `evict-oldest`: the login succeeds and the least recently used other sessions are revoked;
   * `reject`: the login fails with `SessionLimitError` (`ERR_SESSION_LIMIT`, 403). `reject` counts
   * and writes under a per-user lease lock (the `lock` options apply), so it needs a store with
   * `lock` and `unlock` (`ConfigError` otherwise).
   * @default 'evict-oldest'
   */
  sessionLimit?: 'evict-oldest' | 'reject';
  /**
   * After `regenerate()`, the old id keeps resolving (read-only) to the new session for this many
   * ms, so a flaky client's retry with the old cookie is not logged out. Writes through the old
   * id fail with a `destroyed` conflict. `0` deletes the old record at once.
   * @default 0
   */
  regenerateGrace?: number;
  /**
   * Encrypt every payload at rest with AES-256-GCM under the `secrets` key ring (a per-purpose
   * HKDF subkey), bound to the record's store key. Records that fail to decrypt are treated as
   * absent (event `decrypt-failure`), never overwritten blindly. Turning this on for existing
   * plaintext records: run `manager.reseal({ plaintext: true })` once.
   * @default false
   */
  encrypt?: boolean;
  /**
   * Deadline for every store call, in ms; a call still pending after it fails with `StoreError`
   * (503) and its `signal` is aborted. Calls share one deadline per `storeTimeout / 16` window
   * (no timer per call), so a hung call fails after between 15/16 of `storeTimeout` and all of
   * it, never later. `0` disables the deadline. The memory store's calls have none: each settles
   * before it returns, so no deadline could end it (a copy or wrapper of that store has one again).
   * @default 5_000
   */
  storeTimeout?: number;
  /**
   * Largest encoded session, in bytes. Enforced as data grows: the write that would cross it
   * throws `TooLargeError` (see docs/security.md); the commit checks it again.
   * @default 131_072
   */
  maxPayloadBytes?: number;
  /**
   * Deepest nesting of session data, in levels: the data object is level 1 and each key one level
   * more (`set('a.b', {})` reaches level 3); a flash list is level 1. A write past it throws
   * `DataError`; a stored record past it is refused as corrupt.
   * @default 32
   */
  maxDepth?: number;
  /**
   * `Cache-Control` for responses that read or set a session; `false` leaves it alone.
   * @default 'private, no-store'
   */
  cacheControl?: string | false;
  /**
   * Where the session token travels: the session cookie, `'bearer'` (`Authorization: Bearer
   * <token>`), or `{ type: 'header', header }` for a named request header. With a header
   * transport the new or rotated token is returned in the `responseHeader` (default
   * `Session-Token`; empty when the session ended), the CSRF check does not apply (no ambient
   * credential), and responses vary on that request header. See docs/stateless.md, "Transports".
   * @default 'cookie'
   */
  transport?: TransportOption;
  /**
   * What `session.destroy({ clearSiteData: true })` asks the browser to clear, sent as the
   * `Clear-Site-Data` header of that response (logout everywhere; browsers honour it on HTTPS only).
   * @default ['cookies', 'storage']
   */
  clearSiteData?: readonly ClearSiteDataType[];
  /** Receives lifecycle events. Must not throw (errors are swallowed). */
  onEvent?: (event: SessionEvent) => void;
  /**
   * Clock, in ms since the epoch (inject for tests).
   * @default Date.now
   */
  now?: () => number;
  /**
   * Session id generator (inject for tests); must return 43 base64url characters (32 bytes from
   * a CSPRNG). An id of any other shape fails the commit that made it with `ConfigError`
   * (nothing is stored, no cookie is set) instead of being issued and refused later.
   * @default generateSessionId
   */
  generateId?: () => string;
}

/**
 * A lifecycle event. `handle` is a truncated store key: never a raw id. `ip` is the client address
 * the adapter resolved (`null` when it gave none) on the guess events `invalid-cookie` and
 * `unknown-id`; on `brute-force`, the address counted — an IPv4 address, or an IPv6 /64
 * (`2001:db8:1:2::/64`) — that made `guesses` failed guesses within `window` ms.
 */
export type SessionEvent =
  | { type: 'create'; handle: string; userId: string | null }
  | { type: 'regenerate'; handle: string; previous: string }
  | { type: 'destroy'; handle: string }
  | { type: 'expire'; handle: string; reason: 'idle' | 'absolute' }
  | { type: 'invalid-cookie'; reason: InvalidTokenReason; ip: string | null }
  | { type: 'unknown-id'; handle: string; ip: string | null }
  | { type: 'brute-force'; ip: string; guesses: number; window: number }
  | { type: 'corrupt'; handle: string }
  | { type: 'decrypt-failure'; handle: string }
  | { type: 'touch'; handle: string }
  | { type: 'commit'; handle: string; attempts: number }
  | { type: 'conflict'; handle: string; reason: ConflictReason }
  | { type: 'lock-timeout'; handle: string }
  | { type: 'store-error'; operation: string; code: string }
  | { type: 'revoke'; handle: string; userId: string }
  | { type: 'evict'; handle: string; userId: string }
  | { type: 'fingerprint-mismatch'; handle: string; policy: 'flag' | 'destroy' }
  | { type: 'csrf-failure'; reason: CsrfFailureReason; method: string };

/** The options after defaults and validation: what the rest of the core reads. @internal */
export interface ResolvedOptions {
  store: SessionStore;
  keys: KeyRing;
  cookie: ResolvedCookieOptions;
  /** `idleTimeout`, ms. */
  idle: number;
  /** `absoluteTimeout`, ms. */
  absolute: number;
  touchInterval: number;
  persistent: boolean;
  /** The manager's default concurrency mode (a request may override it). */
  mode: ConcurrencyMode;
  maxRetries: number;
  lockTtl: number;
  lockWait: number;
  storeTimeout: number;
  encrypt: boolean;
  fingerprint: ResolvedFingerprint | undefined;
  bruteForce: Required<BruteForceOptions> | undefined;
  deviceInfo: 'full' | 'minimal';
  maxSessionsPerUser: number | undefined;
  sessionLimit: 'evict-oldest' | 'reject';
  /** `regenerateGrace`, ms. */
  grace: number;
  limits: CodecLimits;
  cacheControl: string | undefined;
  /** Where the token travels. */
  transport: ResolvedTransport;
  /** `Clear-Site-Data` value of `destroy({ clearSiteData: true })`. */
  clearSiteData: string;
  onEvent: ((event: SessionEvent) => void) | undefined;
  now: () => number;
  generateId: () => string;
  /** Sealed-cookie settings when `store` is a `cookieStore()`, else `undefined`. */
  sealed: SealedConfig | undefined;
}
