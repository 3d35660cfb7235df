/**
 * Private module (never in the exports map): the manager options read from environment
 * variables by `createSessionManagerFromEnv`. Each variable is validated here with a message
 * naming the variable and the expected form — never its value, which may be a secret pasted
 * into the wrong place. The options themselves are validated again by `createSessionManager`.
 */

import type { CookieOptions } from '../core/cookie.js';
import { ConfigError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManagerOptions } from '../core/manager.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Units of a duration variable, in ms. */
const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Duration variables and the option each sets. */
const DURATIONS = {
  SESSION_IDLE_TIMEOUT: 'idleTimeout',
  SESSION_ABSOLUTE_TIMEOUT: 'absoluteTimeout',
  SESSION_TOUCH_INTERVAL: 'touchInterval',
  SESSION_STORE_TIMEOUT: 'storeTimeout',
  SESSION_REGENERATE_GRACE: 'regenerateGrace',
} as const;

/** Yes/no variables and the option each sets. */
const FLAGS = { SESSION_ENCRYPT: 'encrypt', SESSION_PERSISTENT: 'persistent' } as const;

/**
 * The options the environment sets (only those whose variable is set and not empty). Throws
 * `ConfigError` naming a malformed variable.
 */
export function managerOptionsFromEnv(env: Env): Partial<SessionManagerOptions> {
  const options: Partial<SessionManagerOptions> = {};
  const secrets = read(env, 'SESSION_SECRETS');
  if (secrets !== undefined) options.secrets = secretList(secrets);
  for (const [name, option] of Object.entries(DURATIONS)) {
    const value = read(env, name);
    if (value !== undefined) options[option] = duration(name, value);
  }
  for (const [name, option] of Object.entries(FLAGS)) {
    const value = read(env, name);
    if (value !== undefined) options[option] = flag(name, value);
  }
  const concurrency = read(env, 'SESSION_CONCURRENCY');
  if (concurrency !== undefined) {
    if (!['merge', 'lock', 'none'].includes(concurrency)) {
      throw new ConfigError('SESSION_CONCURRENCY must be merge, lock or none.');
    }
    options.concurrency = concurrency as ConcurrencyMode;
  }
  const max = read(env, 'SESSION_MAX_PER_USER');
  if (max !== undefined) {
    if (!/^[0-9]{1,7}$/.test(max)) {
      throw new ConfigError('SESSION_MAX_PER_USER must be a whole number of sessions.');
    }
    options.maxSessionsPerUser = Number(max);
  }
  const cookie = cookieFromEnv(env);
  if (cookie !== undefined) options.cookie = cookie;
  return options;
}

function cookieFromEnv(env: Env): CookieOptions | undefined {
  const cookie: CookieOptions = {};
  const name = read(env, 'SESSION_COOKIE_NAME');
  if (name !== undefined) cookie.name = name;
  const secure = read(env, 'SESSION_COOKIE_SECURE');
  if (secure !== undefined) cookie.secure = flag('SESSION_COOKIE_SECURE', secure);
  const sameSite = read(env, 'SESSION_COOKIE_SAMESITE');
  if (sameSite !== undefined) {
    if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') {
      throw new ConfigError('SESSION_COOKIE_SAMESITE must be lax, strict or none.');
    }
    cookie.sameSite = sameSite;
  }
  const domain = read(env, 'SESSION_COOKIE_DOMAIN');
  if (domain !== undefined) cookie.domain = domain;
  return Object.keys(cookie).length === 0 ? undefined : cookie;
}

/** `SESSION_SECRETS`: comma-separated, primary first; an empty entry is a mistake. */
function secretList(value: string): string[] {
  const list = value.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) {
    throw new ConfigError(
      'SESSION_SECRETS has an empty entry; list the secrets comma-separated, primary first.',
    );
  }
  return list;
}

/** `1800000`, `1800000ms`, `90s`, `30m`, `12h` or `7d`, in ms. */
function duration(name: string, value: string): number {
  const match = /^([0-9]{1,12})(ms|s|m|h|d)?$/.exec(value);
  if (match === null) {
    throw new ConfigError(
      `${name} must be a duration: milliseconds, or a number with ms, s, m, h or d (e.g. 30m).`,
    );
  }
  return Number(match[1]) * UNITS[match[2] ?? 'ms']!;
}

function flag(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`${name} must be true or false.`);
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
