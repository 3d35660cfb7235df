/**
 * Private module (never in the exports map): the Redis record layout (`docs/stores/redis.md`).
 *
 * A record is one string, `1|<version>|<expiresAt>|<indexed>|<user>\n<data>`:
 * - `1` names the layout; `version` and `expiresAt` as JavaScript prints them (exact);
 * - `indexed` is the score the record's key was given in its user's index (empty when
 *   anonymous): a multiple of {@link INDEX_BUCKET} at or after the expiry it was indexed for, so
 *   a later write whose expiry it still covers skips the index update;
 * - `user` is the user id with `%` and line feeds escaped (`%25`, `%0A`), empty when anonymous;
 * - `data`, the rest, is the payload as given.
 *
 * Records of the previous layout (a hash: `d` data, `v` version, `e` expiresAt, `u` user id or
 * `''`) are still read ({@link fromLegacy}); the scripts rewrite them in this layout on their
 * next write.
 */

import type { StoreRecord } from '../core/store.js';

/** Width of the index-score buckets (ms): one index update per session per hour at most, when unchanged. */
export const INDEX_BUCKET = 3_600_000;

/** The fields of a legacy (hash) record, in the order `HMGET` asks for them. */
export const LEGACY_FIELDS: readonly string[] = ['d', 'v', 'e', 'u'];

/** The index score a record expiring (in Redis) at `pxat` is written with. */
export function indexScore(pxat: number): number {
  return Math.ceil(pxat / INDEX_BUCKET) * INDEX_BUCKET;
}

/** A user id as the layout holds it: `%` and line feeds escaped, so it never ends the header. */
export function escapeUser(userId: string): string {
  return userId.includes('%') || userId.includes('\n')
    ? userId.replaceAll('%', '%25').replaceAll('\n', '%0A')
    : userId;
}

/** The inverse of {@link escapeUser}. */
export function unescapeUser(stored: string): string {
  return stored.includes('%')
    ? stored.replace(/%(25|0A)/g, (_, code: string) => (code === '25' ? '%' : '\n'))
    : stored;
}

/** The stored value of `record`, indexed at `indexed` (`''` for an anonymous record). */
export function encodeRecord(record: StoreRecord, indexed: number | ''): string {
  const user = record.userId === null ? '' : escapeUser(record.userId);
  return `1|${record.version}|${record.expiresAt}|${indexed}|${user}\n${record.data}`;
}

/**
 * A stored value (a `GET` reply, or a legacy `HMGET d v e u` reply) as a record live at `now`,
 * or `undefined` (missing, expired, or not a record of either layout).
 */
export function decodeRecord(reply: unknown, now: number): StoreRecord | undefined {
  if (Array.isArray(reply)) return fromLegacy(reply, now);
  if (typeof reply !== 'string' || !reply.startsWith('1|')) return undefined;
  const a = reply.indexOf('|', 2);
  const b = a < 0 ? -1 : reply.indexOf('|', a + 1);
  const c = b < 0 ? -1 : reply.indexOf('|', b + 1);
  const end = c < 0 ? -1 : reply.indexOf('\n', c + 1);
  if (end < 0) return undefined;
  const version = Number(reply.slice(2, a));
  const expiresAt = Number(reply.slice(a + 1, b));
  if (!Number.isSafeInteger(version) || version < 1 || !(expiresAt > now)) return undefined;
  const user = reply.slice(c + 1, end);
  return {
    data: reply.slice(end + 1),
    version,
    expiresAt,
    userId: user === '' ? null : unescapeUser(user),
  };
}

/** {@link decodeRecord} live now: a `GET` (or legacy `HMGET`) reply as the record it holds. */
export function decodeLive(reply: unknown): StoreRecord | undefined {
  return decodeRecord(reply, Date.now());
}

/** A legacy `HMGET d v e u` reply as a record live at `now`, or `undefined`. */
function fromLegacy(row: unknown[], now: number): StoreRecord | undefined {
  const [data, v, e, u] = row;
  const version = Number(v);
  const expiresAt = Number(e);
  if (typeof data !== 'string' || !Number.isSafeInteger(version) || version < 1) return undefined;
  if (typeof e !== 'string' || !(expiresAt > now) || typeof u !== 'string') return undefined;
  return { data, version, expiresAt, userId: u === '' ? null : u };
}
