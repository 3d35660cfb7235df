/**
 * `sessionkit migrate [--print]` — apply (or print) the DDL of the SQL stores a URL names: the
 * store itself, or the SQL tiers of a tiered store. Idempotent (`CREATE … IF NOT EXISTS`); the
 * report says which tables were created and which were already there.
 */

import { parseStoreUrl, type SingleSpec } from '../../config/_url.js';
import type { ConfiguredStore } from '../../config/index.js';
import { mysqlSchema } from '../../stores/mysql.js';
import { postgresSchema } from '../../stores/postgres.js';
import { sqliteSchema } from '../../stores/sqlite.js';

/** What `migrate` did to one store. */
export interface MigrateResult {
  /** The store's description (no credentials). */
  store: string;
  /** `false` for a store without a schema (memory, file, Redis): nothing to do. */
  sql: boolean;
  /** Tables created by this run. */
  created: string[];
  /** Tables that already existed. */
  existing: string[];
}

/** Apply the DDL of every SQL store in `store` (itself, or its tiers). Rejects with `StoreError`. */
export async function migrate(store: ConfiguredStore): Promise<MigrateResult[]> {
  const parts = store.tiers === undefined ? [store] : [store.tiers.cache, store.tiers.persistent];
  const results: MigrateResult[] = [];
  for (const part of parts) {
    if (typeof part.migrate !== 'function') {
      results.push({ store: part.description, sql: false, created: [], existing: [] });
      continue;
    }
    const { created, existing } = await part.migrate();
    results.push({ store: part.description, sql: true, created, existing });
  }
  return results;
}

/** One line per result: `postgres db:5432/app: created tables a, a_locks`. */
export function formatMigrate(results: readonly MigrateResult[]): string[] {
  return results.map(({ store, sql, created, existing }) => {
    if (!sql) return `${store}: nothing to migrate (no schema)`;
    if (created.length === 0) return `${store}: up to date (tables ${existing.join(', ')} exist)`;
    const kept = existing.length === 0 ? '' : `; ${existing.join(', ')} already existed`;
    return `${store}: created tables ${created.join(', ')}${kept}`;
  });
}

/** The schema a URL's SQL stores expect, without connecting: one entry per SQL store. */
export function schemaOf(url: string, cwd: string): { store: string; schema: string }[] {
  const spec = parseStoreUrl(url, cwd);
  // A cookie store keeps nothing itself; migrate its revocation store by that store's own URL.
  // A hybrid store's schema is its server-side store's.
  const inner = spec.kind === 'hybrid' ? spec.store : spec;
  const parts: SingleSpec[] =
    inner.kind === 'tiered'
      ? [inner.cache, inner.persistent]
      : inner.kind === 'cookie'
        ? []
        : [inner];
  return parts.flatMap((part) => {
    const names = part.kind === 'sqlite' || part.kind === 'postgres' || part.kind === 'mysql';
    if (!names) return [];
    const options = part.table === undefined ? {} : { table: part.table };
    const schema =
      part.kind === 'postgres'
        ? postgresSchema(options)
        : part.kind === 'mysql'
          ? mysqlSchema(options)
          : sqliteSchema(options);
    return [{ store: part.where, schema }];
  });
}
