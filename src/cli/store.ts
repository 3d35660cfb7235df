/**
 * `sessionkit` CLI — what the store commands share: the store named by `--store` or
 * `SESSION_STORE` (opened with `sessionkit/config`, closed after the command), a reader that
 * opens records (decrypting with `SESSION_SECRETS` when they are sealed), and the one line a
 * failure prints — never a stack trace, a URL or a secret.
 */

import { isNoTable } from '../config/_open.js';
import { type ConfiguredStore, STORE_URL_SYNTAX, storeFromUrl } from '../config/index.js';
import { type BookkeepingKind, bookkeepingOf } from '../core/bookkeeping.js';
import {
  decodePayload,
  decodeRedirect,
  type SessionPayload,
  unsealPayload,
} from '../core/codec.js';
import { isSessionError } from '../core/errors.js';
import { createKeyRing, type KeyRing } from '../core/keys.js';
import type { StoreRecord } from '../core/store.js';
import { type CommandContext, type CommandOption, UsageError } from './args.js';

/** The `--store` and `--json` options every store command takes. */
export const STORE_OPTIONS: Readonly<Record<string, CommandOption>> = {
  store: { type: 'string', value: 'URL', help: 'the store URL (default: $SESSION_STORE)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
};

/** The context of a command run without one (tests of the pure functions). */
export const PROCESS_CONTEXT: CommandContext = {
  env: process.env,
  cwd: process.cwd(),
  progress: () => undefined,
};

/**
 * Run `fn` on the store `--store` (else `SESSION_STORE`) names, then close it. Throws
 * `UsageError` when neither is given. Only `migrate` (`forMigrate`) may create the URL's file or
 * directory and tables; other commands refuse a missing path or table instead of creating an
 * empty store.
 */
export async function withStore<T>(
  values: Readonly<Record<string, string | boolean | undefined>>,
  context: CommandContext,
  fn: (store: ConfiguredStore) => Promise<T>,
  forMigrate = false,
): Promise<T> {
  const url = storeUrl(values, context);
  const store = await storeFromUrl(url, {
    cwd: context.cwd,
    create: forMigrate,
    // migrate: SQLite creates its tables as it opens (and its report says so); servers in fn.
    migrate: forMigrate ? undefined : false,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `--store`, else `SESSION_STORE`; `UsageError` when neither is set. */
export function storeUrl(
  values: Readonly<Record<string, string | boolean | undefined>>,
  context: CommandContext,
): string {
  const url = typeof values.store === 'string' ? values.store : context.env.SESSION_STORE;
  if (url === undefined || url.trim() === '') {
    throw new UsageError(`give the store with --store URL or SESSION_STORE (${STORE_URL_SYNTAX})`);
  }
  return url;
}

/**
 * What a record holds, as far as the CLI can read it: a session, a grace forward, revocation
 * bookkeeping (`bookkeeping.ts`: a per-user record or a denylist entry — not a session), or
 * something it cannot open.
 */
export type OpenedRecord =
  | { kind: 'session'; payload: SessionPayload; sealed: boolean }
  | { kind: 'forward'; to: string }
  | { kind: 'bookkeeping'; of: BookkeepingKind }
  | { kind: 'unreadable'; sealed: boolean };

/** Opens records: plaintext as is, sealed ones with the `SESSION_SECRETS` key ring. */
export type RecordReader = (key: string, record: StoreRecord) => OpenedRecord;

/** Generous bounds: the CLI reads what the application wrote, whatever its own limits were. */
const LIMITS = { maxBytes: 64 * 1024 * 1024, maxDepth: 1000 };

/**
 * A {@link RecordReader} over `SESSION_SECRETS` (comma-separated, primary first), when set.
 * Throws `ConfigError` for malformed secrets (the message never contains them).
 */
export function recordReader(env: Readonly<Record<string, string | undefined>>): RecordReader {
  const ring = keyRing(env);
  return (key, record) => {
    const of = bookkeepingOf(record.data);
    if (of !== undefined) return { kind: 'bookkeeping', of };
    const sealed = record.data.startsWith('sk1.');
    const text = sealed
      ? ring === undefined
        ? undefined
        : unsealPayload(record.data, ring, key)?.text
      : record.data;
    if (text === undefined) return { kind: 'unreadable', sealed };
    const to = decodeRedirect(text);
    if (to !== undefined) return { kind: 'forward', to };
    const payload = decodePayload(text, LIMITS);
    return payload === undefined
      ? { kind: 'unreadable', sealed }
      : { kind: 'session', payload, sealed };
  };
}

/** The key ring of `SESSION_SECRETS`, or `undefined` when it is not set. */
export function keyRing(env: Readonly<Record<string, string | undefined>>): KeyRing | undefined {
  const secrets = secretsOf(env);
  return secrets === undefined ? undefined : createKeyRing(secrets);
}

/** `SESSION_SECRETS`, comma-separated, primary first; `undefined` when it is not set. */
export function secretsOf(env: Readonly<Record<string, string | undefined>>): string[] | undefined {
  const text = env.SESSION_SECRETS?.trim();
  return text === undefined || text === '' ? undefined : text.split(',').map((s) => s.trim());
}

/** Exit code and one line for a failed command (`2`: usage or configuration, `1`: the rest). */
export function describeFailure(error: unknown): { code: 1 | 2; line: string } {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n', 1)[0] ?? message;
  if (isSessionError(error, 'ERR_SESSION_CONFIG')) return { code: 2, line };
  if (isSessionError(error, 'ERR_SESSION_STORE') && isNoTable((error as Error).cause)) {
    return { code: 1, line: `${line} The session table does not exist: run "sessionkit migrate".` };
  }
  return { code: 1, line };
}

/** A time for humans: `2024-05-01 10:00:00Z`. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms)
    ? `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)}Z`
    : '-';
}

/** A byte size for humans: `980 B`, `1.2 KiB`, `3.4 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Pretty-printed JSON, as one chunk of output. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
