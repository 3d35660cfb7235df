/**
 * Private module (never in the exports map): how the SQL stores read result rows back — records,
 * entries and counts — whatever types the driver returns (integers as number, string or bigint;
 * text as string or bytes). `_sql-dialect.ts` builds the statements these rows answer.
 */

import { isStoreKey, type StoreEntry, type StoreRecord } from '../core/store.js';

/** Keeps a leading U+FEFF: a payload is returned exactly as written. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** A `COUNT(*)` as a number, whether the driver returns number, string (pg) or bigint. */
export function countOf(value: unknown): number {
  return integer(value) ?? 0;
}

/** Result rows (`key` + record columns) as store entries; malformed rows are skipped. */
export function toEntries(rows: readonly unknown[]): StoreEntry[] {
  const entries: StoreEntry[] = [];
  for (const row of rows) {
    const record = toRecord(row);
    const key = (row as { key?: unknown }).key;
    if (record && isStoreKey(key)) entries.push({ key, record });
  }
  return entries;
}

/**
 * A result row as a record (`data`, `version`, `expires_at`, `user_id` columns; integers as
 * number, string or bigint; text as string or bytes), or `undefined` when malformed.
 */
export function toRecord(row: unknown): StoreRecord | undefined {
  if (typeof row !== 'object' || row === null) return undefined;
  const r = row as Record<string, unknown>;
  const data = text(r.data);
  const version = integer(r.version);
  const expiresAt = integer(r.expires_at);
  const userId = r.user_id === null || r.user_id === undefined ? null : text(r.user_id);
  if (data === undefined || version === undefined || expiresAt === undefined) return undefined;
  if (userId === undefined) return undefined;
  return { data, version, expiresAt, userId };
}

/** Text from a text column (string) or a binary one (bytes, decoded as UTF-8). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return UTF8.decode(value);
  return undefined;
}

/** A BIGINT as a number, whether the driver returns number, string (pg) or bigint. */
function integer(value: unknown): number | undefined {
  const n = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}
