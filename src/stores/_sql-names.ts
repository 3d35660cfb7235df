/**
 * Private module (never in the exports map): the table and column options of the SQL stores —
 * validated against the identifier patterns and quoted by the dialect into {@link SqlNames},
 * the only text of a store's own ever interpolated into its SQL.
 */

import { ConfigError } from '../core/errors.js';
import type { SqlDialect } from './_sql-dialect.js';

const DEFAULT_TABLE = 'sessionkit_sessions';
/** Room for the `_expires_at_idx` suffix within PostgreSQL's 63-byte identifier limit. */
const DEFAULT_MAX_TABLE_LENGTH = 48;
const COLUMN_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const COLUMN_NAMES = ['key', 'data', 'version', 'expiresAt', 'userId'] as const;

/** Column names of the sessions table. Each must match `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`. */
export interface SqlColumns {
  /** The store key (primary key). @default 'key' */
  key?: string | undefined;
  /** The encoded session. @default 'data' */
  data?: string | undefined;
  /** The record version compared by compare-and-set. @default 'version' */
  version?: string | undefined;
  /** Absolute expiry in ms since the epoch. @default 'expires_at' */
  expiresAt?: string | undefined;
  /** The owning user, for the per-user index; `NULL` when anonymous. @default 'user_id' */
  userId?: string | undefined;
}

/** Table and column names of a SQL store, shared by its factory and its schema function. */
export interface SqlSchemaOptions {
  /** Sessions table; must match `/^[A-Za-z_][A-Za-z0-9_]{0,47}$/`. @default 'sessionkit_sessions' */
  table?: string | undefined;
  /** Lease-lock table; same pattern as `table`, and a different name. @default `${table}_locks` */
  locksTable?: string | undefined;
  /** Custom column names for the sessions table (the locks table's columns are fixed). @default the names in {@link SqlColumns} */
  columns?: SqlColumns | undefined;
}

/** Validated, quoted names handed to a dialect's DDL builder. */
export interface SqlNames {
  /** The sessions and locks tables, unquoted (as the catalog lists them). */
  tableNames: readonly [string, string];
  /** Quoted sessions table. */
  table: string;
  /** Quoted locks table. */
  locks: string;
  /** Quoted columns of the sessions table. */
  key: string;
  data: string;
  version: string;
  expiresAt: string;
  userId: string;
  /** Quoted index names (on `expires_at`, on `user_id`, on the locks' `expires_at`). */
  expiresIndex: string;
  userIndex: string;
  locksExpiresIndex: string;
  /**
   * Dialects with {@link SqlDialect.expiryBucket} only: the quoted expiry-bucket column
   * (`<expiresAt column>_bucket`) or the dialect's bucket expression, and the index on it
   * (`<table>_bucket_idx`).
   */
  expiresBucket?: string | undefined;
  bucketIndex?: string | undefined;
}

/**
 * Validate table and column names against the identifier patterns and quote them. Throws
 * `ConfigError` (`ERR_SESSION_CONFIG`) naming the option (`table`, `locksTable`,
 * `columns.<name>`), and for duplicate column names or identical tables.
 */
export function sqlNames(dialect: SqlDialect, options: SqlSchemaOptions, who: string): SqlNames {
  const max = dialect.maxTableLength ?? DEFAULT_MAX_TABLE_LENGTH;
  const tablePattern = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${max - 1}}$`);
  const table = identifier(who, 'table', options.table ?? DEFAULT_TABLE, tablePattern, max);
  const locksTable = options.locksTable ?? `${table}_locks`;
  const locks = identifier(who, 'locksTable', locksTable, tablePattern, max);
  if (locks === table) {
    throw new ConfigError(`${who}: \`locksTable\` must differ from \`table\`.`);
  }
  const given: Record<string, unknown> = { ...(options.columns ?? {}) };
  for (const name of Object.keys(given)) {
    if (!(COLUMN_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `${who}: unknown column \`columns.${name}\`; expected ${COLUMN_NAMES.join(', ')}.`,
      );
    }
  }
  const defaults = { key: 'key', data: 'data', version: 'version', expiresAt: 'expires_at' };
  const columns = { ...defaults, userId: 'user_id' };
  for (const name of COLUMN_NAMES) {
    const value = given[name] ?? columns[name];
    columns[name] = identifier(who, `columns.${name}`, value, COLUMN_PATTERN, 63);
  }
  const lower = COLUMN_NAMES.map((name) => columns[name].toLowerCase());
  if (new Set(lower).size !== lower.length) {
    throw new ConfigError(`${who}: \`columns\` must name five different columns.`);
  }
  const q = (id: string) => dialect.quote(id);
  const bucket = `${columns.expiresAt.slice(0, 56)}_bucket`;
  const width = dialect.expiryBucket;
  const expression = width ? dialect.bucketExpression?.(q(columns.expiresAt), width) : undefined;
  if (width && expression === undefined && lower.includes(bucket.toLowerCase())) {
    throw new ConfigError(
      `${who}: \`columns\` must not name \`${bucket}\`: it is the expiry bucket column.`,
    );
  }
  const bucketNames = width
    ? { expiresBucket: expression ?? q(bucket), bucketIndex: q(`${table}_bucket_idx`) }
    : {};
  return {
    tableNames: [table, locks],
    table: q(table),
    locks: q(locks),
    key: q(columns.key),
    data: q(columns.data),
    version: q(columns.version),
    expiresAt: q(columns.expiresAt),
    userId: q(columns.userId),
    expiresIndex: q(`${table}_expires_at_idx`),
    userIndex: q(`${table}_user_id_idx`),
    locksExpiresIndex: q(`${locks}_expires_at_idx`),
    ...bucketNames,
  };
}

function identifier(
  who: string,
  option: string,
  value: unknown,
  pattern: RegExp,
  max: number,
): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ConfigError(
      `${who}: \`${option}\` must be an identifier of 1–${max} letters, digits or underscores, not starting with a digit.`,
    );
  }
  return value;
}
