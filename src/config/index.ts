/**
 * `sessionkit/config` — configuration from a URL and from the environment.
 *
 * `storeFromUrl('postgres://app@db/app?table=sessions')` opens a store over clients it creates —
 * `pg`, `mysql2`, `ioredis` or `redis`, `better-sqlite3`: optional peer dependencies, imported
 * only when a URL needs them — and its `close()` closes them. `createSessionManagerFromEnv()`
 * reads `SESSION_STORE`, `SESSION_SECRETS` and the main options. The URL syntax and every
 * variable: `docs/operations.md`. No message, event or log line ever contains a password or a
 * secret.
 */

import { ConfigError } from '../core/errors.js';
import {
  createSessionManager,
  type SessionManager,
  type SessionManagerOptions,
} from '../core/manager.js';
import type { SessionStore, StoreCallOptions } from '../core/store.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import type { SqlCounts, SqlMigration } from '../stores/_sql.js';
import { managerOptionsFromEnv } from './_env.js';
import { type Opened, openSpec } from './_open.js';
import { parseStoreUrl, STORE_URL_SYNTAX, type StoreKind } from './_url.js';

export type { SqlCounts, SqlMigration } from '../stores/_sql.js';
export type { StoreKind } from './_url.js';
export { STORE_URL_SYNTAX };

/** Options of {@link storeFromUrl}. */
export interface StoreFromUrlOptions {
  /**
   * Directory that relative `file:` and `sqlite:` paths resolve against.
   * @default process.cwd()
   */
  cwd?: string | undefined;
  /**
   * Apply the SQL stores' DDL (`CREATE … IF NOT EXISTS`) when opening. `undefined` keeps each
   * store's own default: SQLite creates its tables, PostgreSQL and MySQL do not (run
   * `sessionkit migrate` at deploy time, or pass `true`).
   * @default undefined
   */
  migrate?: boolean | undefined;
  /**
   * Create what a local URL names when it is missing (the SQLite file and its directory, the
   * file store's directory). `false` refuses a missing path with `ConfigError` instead — so a
   * typo in an operator's command does not create an empty database.
   * @default true
   */
  create?: boolean | undefined;
}

/** A store opened by {@link storeFromUrl}: the store, what it is, and its clients' `close()`. */
export interface ConfiguredStore extends SessionStore {
  /** Which store the URL named. */
  readonly kind: StoreKind;
  /** One line for logs: kind, host(s), port, database or path — never a user name or password. */
  readonly description: string;
  /** For a tiered store, its two tiers (each opened and closed with it). */
  readonly tiers?: { readonly cache: ConfiguredStore; readonly persistent: ConfiguredStore };
  /** SQL stores: the DDL. */
  readonly schema?: string;
  /** SQL stores: apply the DDL, resolving which tables were created. */
  migrate?(options?: StoreCallOptions): Promise<SqlMigration>;
  /** SQL stores: live and expired rows of the sessions and locks tables. */
  counts?(options?: StoreCallOptions): Promise<SqlCounts>;
  /** Close the store, then every client opened for it. Idempotent; never rejects. */
  close(): Promise<void>;
}

/**
 * Open the store `url` names (syntax: {@link STORE_URL_SYNTAX}; details in
 * `docs/operations.md`), creating and — for servers — checking its clients with one round trip.
 *
 * Throws `ConfigError` (`ERR_SESSION_CONFIG`) for a malformed URL, an unknown or invalid query
 * parameter, or a client package that is not installed (the message names it and the install
 * command). Rejects with `StoreError` (`ERR_SESSION_STORE`, 503) when a server cannot be reached
 * or refuses the credentials: one line naming the host, never the password (the `cause` has
 * every secret of the URL cut out).
 */
export async function storeFromUrl(
  url: string,
  options: StoreFromUrlOptions = {},
): Promise<ConfiguredStore> {
  const spec = parseStoreUrl(url, options.cwd ?? process.cwd());
  const opened = await openSpec(spec, {
    create: options.create ?? true,
    migrate: options.migrate,
  });
  return configured(opened);
}

/**
 * The one-line description of the store `url` names (as {@link ConfiguredStore.description}),
 * without opening it. Throws `ConfigError` as {@link storeFromUrl} does.
 */
export function describeStoreUrl(url: string, cwd: string = process.cwd()): string {
  return parseStoreUrl(url, cwd).where;
}

/** Options of {@link createSessionManagerFromEnv}: manager options the environment overrides. */
export interface SessionManagerFromEnvOptions extends Partial<SessionManagerOptions> {
  /**
   * Where the variables come from.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * The store URL when `SESSION_STORE` is unset or empty (and no `store` is given).
   * @default undefined (then `SESSION_STORE` or `store` is required)
   */
  defaultStore?: string | undefined;
  /** How to open the store URL. */
  storeOptions?: StoreFromUrlOptions | undefined;
}

/**
 * Create a session manager from the environment: `SESSION_STORE` (a store URL, opened with
 * {@link storeFromUrl}), `SESSION_SECRETS` (comma-separated, primary first) and the variables
 * listed in `docs/operations.md` (`SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`,
 * `SESSION_ENCRYPT`, `SESSION_CONCURRENCY`, `SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE`, …).
 * A variable that is set overrides the matching option; options are the defaults. A `store`
 * option is used as is when `SESSION_STORE` is unset.
 *
 * The store opened from the URL is `manager.store` (a {@link ConfiguredStore}): close it on
 * shutdown with `await manager.store.close?.()`. Throws `ConfigError` for a missing or invalid
 * variable — naming the variable, never its value — and rejects as {@link storeFromUrl} does. A
 * store opened here is closed again when the manager cannot be created.
 */
export async function createSessionManagerFromEnv<
  D extends object = DefaultData,
  F extends object = DefaultFlash,
>(options: SessionManagerFromEnvOptions = {}): Promise<SessionManager<D, F>> {
  const { env = process.env, defaultStore, storeOptions, ...defaults } = options;
  const fromEnv = managerOptionsFromEnv(env);
  const url =
    nonEmpty(env.SESSION_STORE) ?? (defaults.store === undefined ? defaultStore : undefined);
  if (url === undefined && defaults.store === undefined) {
    throw new ConfigError(`SESSION_STORE is not set; set it to a store URL: ${STORE_URL_SYNTAX}.`);
  }
  const secrets = fromEnv.secrets ?? defaults.secrets;
  if (secrets === undefined) {
    throw new ConfigError(
      'SESSION_SECRETS is not set; set it to one or more secrets, comma-separated, primary first (`npx sessionkit keygen`).',
    );
  }
  const store = url === undefined ? defaults.store! : await storeFromUrl(url, storeOptions);
  try {
    return createSessionManager<D, F>({ ...defaults, ...fromEnv, store, secrets });
  } catch (error) {
    if (url !== undefined) await (store as ConfiguredStore).close();
    throw error;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The public face of an opened store: the store's methods plus kind, description and close. */
function configured(opened: Opened): ConfiguredStore {
  let closing: Promise<void> | undefined;
  const { store, spec } = opened;
  const tiers = opened.tiers && {
    cache: configured(opened.tiers.cache),
    persistent: configured(opened.tiers.persistent),
  };
  return {
    // Every shipped store is an object literal of functions (no `this`), so a copy keeps working.
    ...store,
    name: store.name,
    kind: spec.kind,
    description: spec.where,
    ...(tiers === undefined ? {} : { tiers }),
    close() {
      closing ??= (async () => {
        await store.close?.().catch(() => {});
        await opened.close().catch(() => {});
      })();
      return closing;
    },
  };
}
