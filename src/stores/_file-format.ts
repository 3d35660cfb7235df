/**
 * `sessionkit` — the file store's on-disk formats (`stores/file.ts`): a record file
 * (`data/<key>`) and a lock file (`locks/<key>`), documented in `docs/stores/file.md`, and their
 * parsers, which read anything malformed as missing. Not exported.
 */

import type { StoreRecord } from '../core/store.js';

/** The record format version, `v` in every record file. */
export const FORMAT = 1;

/** The on-disk record format (`data/<key>`), documented in `docs/stores/file.md`. */
export interface FileRecord extends StoreRecord {
  v: typeof FORMAT;
}

/** The record in a record file's `text`; `undefined` for a missing, malformed or other-version file. */
export function parseRecord(text: string | undefined): StoreRecord | undefined {
  const r = parseJson(text);
  if (r?.v !== FORMAT || typeof r.data !== 'string' || !Number.isSafeInteger(r.version))
    return undefined;
  if (typeof r.expiresAt !== 'number' || (r.userId !== null && typeof r.userId !== 'string'))
    return undefined;
  return { data: r.data, version: r.version as number, expiresAt: r.expiresAt, userId: r.userId };
}

/** The lock in a lock file's `text` (`{ owner, expiresAt }`); `undefined` when malformed. */
export function parseLock(
  text: string | undefined,
): { owner: string; expiresAt: number } | undefined {
  const l = parseJson(text);
  return typeof l?.owner === 'string' && typeof l.expiresAt === 'number'
    ? { owner: l.owner, expiresAt: l.expiresAt }
    : undefined;
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = text === undefined ? undefined : JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
