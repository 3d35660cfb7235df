/**
 * `sessionkit list --user ID`, `show HANDLE` and `revoke --user ID (--handle H | --all)` — a
 * user's sessions as an operator sees them. A handle is a session's store key (a hash of its id:
 * it cannot be used as a cookie). Never prints a session's CSRF secret; data values only when
 * asked (`show --data`).
 */

import type { ConfiguredStore } from '../../config/index.js';
import type { BookkeepingKind } from '../../core/bookkeeping.js';
import { ConfigError } from '../../core/errors.js';
import { isStoreKey } from '../../core/store.js';
import { bytes, isoTime, type OpenedRecord, type RecordReader } from '../store.js';

/** One session of a listing. Times in ms since the epoch. */
export interface SessionSummary {
  handle: string;
  userId: string | null;
  createdAt: number | null;
  lastSeenAt: number | null;
  /** Idle expiry (the record's). */
  expiresAt: number;
  absoluteExpiresAt: number | null;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean | null;
  /** Stored size of the record's data, in bytes. */
  size: number;
  /** `false` when the record could not be opened (sealed without `SESSION_SECRETS`). */
  readable: boolean;
}

/** Live sessions of `userId`, most recently seen first. Throws `ConfigError` without `listByUser`. */
export async function listSessions(
  store: ConfiguredStore,
  userId: string,
  read: RecordReader,
): Promise<SessionSummary[]> {
  if (typeof store.listByUser !== 'function') {
    throw new ConfigError(`The ${store.description} store keeps no per-user index.`);
  }
  const entries = await store.listByUser(userId);
  return entries
    .map(({ key, record }) =>
      summary(key, record.data, record.expiresAt, record.userId, read(key, record)),
    )
    .sort((a, b) => (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0));
}

/** A table of sessions, then a count line. */
export function formatList(userId: string, sessions: readonly SessionSummary[]): string[] {
  const rows = sessions.map((s) => [
    s.handle,
    isoTime(s.createdAt ?? Number.NaN),
    isoTime(s.lastSeenAt ?? Number.NaN),
    isoTime(s.expiresAt),
    s.ip ?? '-',
    s.readable ? (s.userAgent ?? '-').slice(0, 40) : '(sealed: set SESSION_SECRETS)',
  ]);
  const head = ['HANDLE', 'CREATED', 'LAST SEEN', 'EXPIRES', 'IP', 'USER AGENT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const count = `${sessions.length} session${sessions.length === 1 ? '' : 's'} of user ${JSON.stringify(userId)}.`;
  return sessions.length === 0 ? [count] : [line(head), ...rows.map(line), count];
}

/**
 * One session in detail (data values only with `withData`), or `undefined` when there is none. A
 * handle of revocation bookkeeping resolves `{ handle, record, expiresAt }`, `record` saying what
 * it is.
 */
export async function showSession(
  store: ConfiguredStore,
  handle: string,
  read: RecordReader,
  withData: boolean,
): Promise<Record<string, unknown> | undefined> {
  if (!isStoreKey(handle)) return undefined;
  const record = await store.get(handle);
  if (record === undefined) return undefined;
  const opened = read(handle, record);
  if (opened.kind === 'bookkeeping') {
    return { handle, record: BOOKKEEPING[opened.of], expiresAt: record.expiresAt };
  }
  const base = summary(handle, record.data, record.expiresAt, record.userId, opened);
  const detail: Record<string, unknown> = { ...base, version: record.version };
  if (opened.kind === 'forward') detail.forwardsTo = opened.to;
  if (opened.kind === 'session') {
    detail.dataKeys = Object.keys(opened.payload.data).sort();
    detail.flashKeys = Object.keys(opened.payload.flash).sort();
    if (withData) detail.data = opened.payload.data;
  }
  return detail;
}

/** How `show` names a bookkeeping record (`record` of its result): what it is, not a session. */
const BOOKKEEPING: Readonly<Record<BookkeepingKind, string>> = {
  user: 'per-user revocation record (generation, sealed sessions listed), not a session',
  denied: 'denylist entry (a revoked or moved session), not a session',
};

/** `key  value` lines of {@link showSession}'s result. */
export function formatShow(detail: Record<string, unknown>): string[] {
  const time = (v: unknown) => (typeof v === 'number' ? isoTime(v) : '-');
  if (typeof detail.record === 'string') {
    return [
      `${'handle'.padEnd(11)} ${String(detail.handle)}`,
      `${'record'.padEnd(11)} ${detail.record}`,
      `${'expires'.padEnd(11)} ${time(detail.expiresAt)}`,
    ];
  }
  const lines: [string, string][] = [
    ['handle', String(detail.handle)],
    ['user', detail.userId === null ? '(anonymous)' : String(detail.userId)],
    ['created', time(detail.createdAt)],
    ['last seen', time(detail.lastSeenAt)],
    ['expires', `${time(detail.expiresAt)} (idle), ${time(detail.absoluteExpiresAt)} (absolute)`],
    ['persistent', detail.persistent === null ? '-' : detail.persistent ? 'yes' : 'no'],
    ['ip', String(detail.ip ?? '-')],
    ['user agent', String(detail.userAgent ?? '-')],
    ['version', String(detail.version)],
    ['size', bytes(Number(detail.size))],
  ];
  if (!detail.readable) lines.push(['data', '(sealed: set SESSION_SECRETS to read it)']);
  if (detail.forwardsTo !== undefined) lines.push(['forwards to', String(detail.forwardsTo)]);
  if (Array.isArray(detail.dataKeys)) lines.push(['data keys', detail.dataKeys.join(', ') || '-']);
  if (Array.isArray(detail.flashKeys) && detail.flashKeys.length > 0) {
    lines.push(['flash keys', detail.flashKeys.join(', ')]);
  }
  if (detail.data !== undefined) lines.push(['data', JSON.stringify(detail.data)]);
  return lines.map(([k, v]) => `${k.padEnd(11)} ${v}`);
}

/** What `revoke` did. */
export interface RevokeResult {
  userId: string;
  revoked: number;
}

/**
 * Revoke one session of `userId` (`handle`: only if it is theirs) or all but `except`. Throws
 * `ConfigError` for a store without the per-user index; rejects with `StoreError`.
 */
export async function revoke(
  store: ConfiguredStore,
  userId: string,
  target: { handle: string } | { all: true; except?: string | undefined },
): Promise<RevokeResult> {
  if ('handle' in target) {
    const record = isStoreKey(target.handle) ? await store.get(target.handle) : undefined;
    // Ownership check, as the manager's revokeSession: a handle of another user is not touched.
    if (record === undefined || record.userId !== userId) return { userId, revoked: 0 };
    return { userId, revoked: (await store.delete(target.handle)) ? 1 : 0 };
  }
  if (typeof store.deleteByUser !== 'function') {
    throw new ConfigError(`The ${store.description} store keeps no per-user index.`);
  }
  const except = target.except === undefined ? [] : [target.except];
  return { userId, revoked: await store.deleteByUser(userId, { except }) };
}

function summary(
  handle: string,
  data: string,
  expiresAt: number,
  userId: string | null,
  opened: OpenedRecord,
): SessionSummary {
  const meta = opened.kind === 'session' ? opened.payload.meta : undefined;
  return {
    handle,
    userId,
    createdAt: meta?.createdAt ?? null,
    lastSeenAt: meta?.lastSeenAt ?? null,
    expiresAt,
    absoluteExpiresAt: meta?.absoluteExpiresAt ?? null,
    ip: meta?.ip ?? null,
    userAgent: meta?.userAgent ?? null,
    persistent: meta?.persistent ?? null,
    size: Buffer.byteLength(data),
    readable: opened.kind !== 'unreadable',
  };
}
