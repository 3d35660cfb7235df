/**
 * `sessionkit` — resolution and validation of the manager's options (eagerly, at construction: a
 * bad option throws `ConfigError` naming it and the fix). The options themselves are in
 * `options.ts`.
 */

import { resolveClearSiteData } from './clear-site-data.js';
import type { ResolvedFingerprint } from './client.js';
import { resolveCookieOptions } from './cookie.js';
import { ConfigError } from './errors.js';
import type { BruteForceOptions } from './guesses.js';
import { createKeyRing, generateSessionId, isSessionId } from './keys.js';
import type {
  ConcurrencyMode,
  FingerprintOptions,
  IpPrefixOptions,
  ResolvedOptions,
  SessionManagerOptions,
} from './options.js';
import { COOKIE_STORE, isCookieStore, lockUnavailable, resolveSealed } from './sealed-config.js';
import type { SessionStore } from './store.js';
import { resolveTransport } from './transport.js';

/**
 * Resolve and validate {@link SessionManagerOptions}. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) naming the option and the fix. @internal
 */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'createSessionManager() needs an options object with `store` and `secrets`.',
    );
  }
  const { store } = options;
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.touch !== 'function' ||
    typeof store.delete !== 'function'
  ) {
    throw new ConfigError('Option `store` must be a SessionStore (get, set, touch and delete).');
  }
  const idle = duration(options.idleTimeout, 30 * 60_000, 'idleTimeout');
  const absolute = duration(options.absoluteTimeout, 12 * 60 * 60_000, 'absoluteTimeout');
  if (idle > absolute) {
    throw new ConfigError('Option `idleTimeout` cannot be longer than `absoluteTimeout`.');
  }
  const touchInterval = duration(options.touchInterval, 60_000, 'touchInterval', 0);
  const mode = checkMode(options.concurrency ?? 'merge', store);
  const maxRetries = integer(options.maxRetries, 20, 'maxRetries', 0, 1000);
  if (options.maxSessionsPerUser !== undefined && isCookieStore(store)) {
    if (!store[COOKIE_STORE].revocation) {
      throw new ConfigError(
        'Option `maxSessionsPerUser` with sealed-cookie sessions needs a revocation store: cookieStore({ revocation: store }).',
      );
    }
  } else if (options.maxSessionsPerUser !== undefined && typeof store.listByUser !== 'function') {
    throw new ConfigError(
      `Option \`maxSessionsPerUser\` needs a store with \`listByUser\`; ${store.name} has none.`,
    );
  }
  if (
    options.sessionLimit !== undefined &&
    !['evict-oldest', 'reject'].includes(options.sessionLimit)
  ) {
    throw new ConfigError('Option `sessionLimit` must be "evict-oldest" or "reject".');
  }
  if (
    options.maxSessionsPerUser !== undefined &&
    options.sessionLimit === 'reject' &&
    !isCookieStore(store) &&
    (typeof store.lock !== 'function' || typeof store.unlock !== 'function')
  ) {
    // Without a user lock, parallel logins would all count the same sessions and all get in.
    // (Sealed-cookie sessions count in one user record changed by compare-and-set: no lock.)
    throw new ConfigError(
      `Option \`sessionLimit: 'reject'\` needs a store with \`lock\` and \`unlock\`; ${store.name} lacks them.`,
    );
  }
  if (options.encrypt === true && isCookieStore(store)) {
    throw new ConfigError(
      'Option `encrypt` is for server-side stores; a cookieStore() session is always sealed (AES-256-GCM). Remove `encrypt`.',
    );
  }
  const keys = createKeyRing(options.secrets);
  const cookie = resolveCookieOptions(options.cookie);
  return {
    store,
    keys,
    cookie,
    idle,
    absolute,
    touchInterval,
    persistent: options.persistent ?? false,
    mode,
    maxRetries,
    lockTtl: duration(options.lock?.ttl, 30_000, 'lock.ttl'),
    lockWait: duration(options.lock?.wait, 5_000, 'lock.wait', 0),
    storeTimeout: duration(options.storeTimeout, 5_000, 'storeTimeout', 0),
    encrypt: options.encrypt ?? false,
    fingerprint: resolveFingerprint(options.fingerprint),
    bruteForce: resolveBruteForce(options.bruteForce),
    deviceInfo: resolveDeviceInfo(options.deviceInfo),
    maxSessionsPerUser:
      options.maxSessionsPerUser === undefined
        ? undefined
        : integer(options.maxSessionsPerUser, 0, 'maxSessionsPerUser', 1, 1_000_000),
    sessionLimit: options.sessionLimit ?? 'evict-oldest',
    grace: duration(options.regenerateGrace, 0, 'regenerateGrace', 0),
    limits: {
      maxBytes: integer(
        options.maxPayloadBytes,
        128 * 1024,
        'maxPayloadBytes',
        256,
        64 * 1024 * 1024,
      ),
      maxDepth: integer(options.maxDepth, 32, 'maxDepth', 1, 1000),
    },
    transport: resolveTransport(options.transport),
    cacheControl:
      options.cacheControl === false ? undefined : (options.cacheControl ?? 'private, no-store'),
    clearSiteData: resolveClearSiteData(options.clearSiteData),
    onEvent: options.onEvent,
    now: fn(options.now, 'now') ?? Date.now,
    generateId: checkedGenerator(fn(options.generateId, 'generateId')),
    sealed: resolveSealed(store, keys, cookie),
  };
}

/**
 * Check a concurrency mode against the store — the manager's option and a request's override
 * alike: throws `ConfigError` for anything but `merge` / `lock` / `none`, and for `lock` on a
 * store without both `lock` and `unlock` (a lock it cannot release would block the session for
 * the whole lease). @internal
 */
export function checkMode(mode: ConcurrencyMode, store: SessionStore): ConcurrencyMode {
  if (mode !== 'merge' && mode !== 'lock' && mode !== 'none') {
    throw new ConfigError('Option `concurrency` must be "merge", "lock" or "none".');
  }
  if (mode === 'lock' && isCookieStore(store)) throw lockUnavailable();
  if (mode === 'lock' && (typeof store.lock !== 'function' || typeof store.unlock !== 'function')) {
    throw new ConfigError(
      `Concurrency mode "lock" needs a store with \`lock\` and \`unlock\`; ${store.name} lacks them.`,
    );
  }
  return mode;
}

function resolveFingerprint(
  options: FingerprintOptions | undefined,
): ResolvedOptions['fingerprint'] {
  if (options === undefined) return undefined;
  const policy = options.policy ?? 'flag';
  if (policy !== 'flag' && policy !== 'destroy') {
    throw new ConfigError('Option `fingerprint.policy` must be "flag" or "destroy".');
  }
  const { ip = false, userAgent = true } = options;
  if (typeof userAgent !== 'boolean') {
    throw new ConfigError('Option `fingerprint.userAgent` must be a boolean.');
  }
  const resolved = { ip: resolveIpBinding(ip), userAgent, policy };
  if (resolved.ip === undefined && !resolved.userAgent) {
    throw new ConfigError('Option `fingerprint` needs `ip` and/or `userAgent` set to true.');
  }
  return resolved;
}

function resolveBruteForce(
  options: BruteForceOptions | false | undefined,
): ResolvedOptions['bruteForce'] {
  if (options === false) return undefined;
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new ConfigError('Option `bruteForce` must be an options object or false.');
  }
  return {
    threshold: integer(options?.threshold, 20, 'bruteForce.threshold', 1, 1_000_000),
    window: integer(options?.window, 60_000, 'bruteForce.window', 1, 7 * 24 * 60 * 60_000),
    capacity: integer(options?.capacity, 10_000, 'bruteForce.capacity', 2, 1_000_000),
  };
}

function resolveIpBinding(ip: boolean | IpPrefixOptions): ResolvedFingerprint['ip'] {
  if (ip === false) return undefined;
  if (ip === true) return { v4: 32, v6: 128 };
  if (typeof ip !== 'object' || ip === null || Array.isArray(ip)) {
    throw new ConfigError(
      'Option `fingerprint.ip` must be a boolean or { ipv4Prefix?, ipv6Prefix? } (prefix binding).',
    );
  }
  return {
    v4: integer(ip.ipv4Prefix, 24, 'fingerprint.ip.ipv4Prefix', 1, 32),
    v6: integer(ip.ipv6Prefix, 64, 'fingerprint.ip.ipv6Prefix', 1, 128),
  };
}

/** `value` when it is a function or absent; a `ConfigError` naming option `name` otherwise. */
function fn<F extends (...args: never[]) => unknown>(value: F | undefined, name: string) {
  if (value === undefined || typeof value === 'function') return value;
  throw new ConfigError(`Option \`${name}\` must be a function.`);
}

/**
 * The session id generator: the built-in one, or the app's wrapped so that an id of the wrong
 * shape fails where it is made — a `ConfigError` naming the option — instead of being issued in a
 * cookie that every later request would refuse as malformed (a silent logout).
 */
function checkedGenerator(generate: (() => string) | undefined): () => string {
  if (generate === undefined) return generateSessionId;
  return () => {
    const id: unknown = generate();
    if (isSessionId(id)) return id;
    const got =
      typeof id === 'string'
        ? `a string of ${id.length} characters that is not one`
        : `${id === null ? 'null' : typeof id}`;
    throw new ConfigError(
      `Option \`generateId\` returned ${got}: a session id is 43 base64url characters ` +
        '(32 bytes from a CSPRNG, as `generateSessionId` makes them).',
    );
  };
}

function resolveDeviceInfo(value: 'full' | 'minimal' | undefined): 'full' | 'minimal' {
  if (value === undefined || value === 'full' || value === 'minimal') return value ?? 'full';
  throw new ConfigError('Option `deviceInfo` must be "full" or "minimal".');
}

function duration(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new ConfigError(`Option \`${name}\` must be a number of milliseconds ≥ ${min}.`);
  }
  return value;
}

function integer(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`Option \`${name}\` must be an integer from ${min} to ${max}.`);
  }
  return value;
}
