/**
 * Private module (never in the exports map): loading a store's client package — an optional peer
 * dependency — by dynamic import, and turning a failed connection into one safe `StoreError`.
 *
 * Nothing here ever puts a password in a message: connection errors are described by their
 * code in our own words, and the original error is kept as `cause` only after every occurrence of
 * the URL's secrets has been cut out of it (ioredis, for one, keeps a failed `AUTH`'s arguments).
 */

import { ConfigError, StoreError } from '../core/errors.js';
import { redactedCopy } from '../core/redact.js';

/**
 * Import a client package. Throws `ConfigError` (`ERR_SESSION_CONFIG`) naming the package and the
 * install command when it is not installed, or saying it failed to load (e.g. a native build for
 * another Node version) with the loader's error as `cause`.
 */
export async function loadPackage<T>(
  store: string,
  name: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissing(error, name)) {
      throw new ConfigError(
        `The ${store} store needs the "${name}" package, which is not installed: npm install ${name}`,
        { cause: error },
      );
    }
    throw new ConfigError(`The "${name}" package failed to load for the ${store} store.`, {
      cause: error,
    });
  }
}

/** `true` when `error` says that the package `name` itself cannot be found. */
export function isMissing(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  );
}

/** Words for the codes drivers give a failed connection (Node, PostgreSQL, MySQL, Redis). */
const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  ER_ACCESS_DENIED_ERROR: 'authentication failed',
  ER_DBACCESS_DENIED_ERROR: 'access to the database denied',
  ER_BAD_DB_ERROR: 'database does not exist',
  WRONGPASS: 'authentication failed',
  NOAUTH: 'authentication required',
  NOPERM: 'permission denied',
  DEADLINE: 'timed out',
};

/**
 * A one-line `StoreError` for a store that could not be reached or refused us: "Cannot use the
 * postgres store at 127.0.0.1:5432/app (authentication failed)." `cause` is `error` with
 * `secrets` and the usual secret patterns cut out of it (`redactedCopy`, core/redact.ts). Never the
 * URL, never a password.
 */
export function connectError(
  where: string,
  error: unknown,
  secrets: readonly string[],
): StoreError {
  return new StoreError(`Cannot use the ${where} session store (${reasonOf(error)}).`, {
    cause: redactedCopy(error, secrets),
  });
}

/** The short reason of a connection failure, from its code (or its cause's, or Redis' reply). */
export function reasonOf(error: unknown): string {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && Object.hasOwn(REASONS, code)) return REASONS[code]!;
    const word = typeof message === 'string' ? /^([A-Z]{4,})\b/.exec(message)?.[1] : undefined;
    if (word !== undefined && Object.hasOwn(REASONS, word)) return REASONS[word]!;
    if (typeof message === 'string' && /timed? ?out|timeout/i.test(message)) return 'timed out';
    // AggregateError (several addresses tried) and wrapped errors: look one level down.
    const inner = (e as { errors?: unknown[]; cause?: unknown }).errors?.[0];
    e = inner ?? (e as { cause?: unknown }).cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'no answer';
}

/** `promise`, or a rejection with code `DEADLINE` after `ms` (the timer never holds the process). */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        Object.assign(new Error('No answer before the connect timeout.'), { code: 'DEADLINE' }),
      );
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
