/**
 * `sessionkit` — a user's sessions: the "your devices" list, revocation, and the per-user limit
 * (`maxSessionsPerUser`). All need a store with `listByUser` (revoking all: `deleteByUser`).
 */

import {
  type Context,
  emit,
  short,
  storeDelete,
  storeDeleteByUser,
  storeGet,
  storeListByUser,
} from './context.js';
import { ConfigError, SessionLimitError } from './errors.js';
import { openRecord } from './records.js';
import type { StoreRecord } from './store.js';

/** One entry of the "your devices" list. */
export interface SessionInfo {
  /** Opaque handle of the session (its store key); pass it to `revokeSession`. */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  /** When it expires if unused (idle) — never after `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
  /** `true` for the handle given as `current`. */
  current: boolean;
}

/**
 * Live sessions of `userId`, newest activity first; `current` marks one handle. Throws
 * `ConfigError` without a store `listByUser`; rejects with `StoreError`. @internal
 */
export async function listSessions(
  ctx: Context,
  userId: string,
  current: string | undefined,
): Promise<SessionInfo[]> {
  requireAbility(ctx, 'listByUser');
  const now = ctx.now();
  const entries = await storeListByUser(ctx, userId);
  const out: SessionInfo[] = [];
  for (const { key, record } of entries) {
    const info = infoOf(ctx, key, record, userId, now);
    if (info !== undefined) out.push({ ...info, current: key === current });
  }
  return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/**
 * Revoke the session `handle` if it belongs to `userId` (event `revoke`). Resolves `false` when
 * it is not theirs or gone. Throws `ConfigError` without a store `listByUser`. @internal
 */
export async function revokeSession(
  ctx: Context,
  userId: string,
  handle: string,
): Promise<boolean> {
  requireAbility(ctx, 'listByUser');
  const record = await storeGet(ctx, handle);
  if (record === undefined || record.userId !== userId) return false; // ownership check
  const deleted = await storeDelete(ctx, handle);
  if (deleted) ctx.onEvent?.({ type: 'revoke', handle: short(handle), userId });
  return deleted;
}

/**
 * Revoke every session of `userId` except the `except` handles; resolves how many went. Throws
 * `ConfigError` without a store `deleteByUser`. @internal
 */
export async function revokeAll(
  ctx: Context,
  userId: string,
  except: readonly string[] | undefined,
): Promise<number> {
  requireAbility(ctx, 'deleteByUser');
  const count = await storeDeleteByUser(ctx, userId, except);
  if (count > 0) ctx.onEvent?.({ type: 'revoke', handle: '*', userId });
  return count;
}

/**
 * Enforce `maxSessionsPerUser` for a session about to belong to `userId` (`current` is its key
 * once written). `reject` checks before the write (throws `SessionLimitError`), `evict-oldest`
 * trims the least recently used others after it (event `evict`). @internal
 */
export async function enforceLimit(
  ctx: Context,
  userId: string,
  current: string | null,
  phase: 'before' | 'after',
): Promise<void> {
  const max = ctx.maxSessionsPerUser;
  if (max === undefined || (ctx.sessionLimit === 'reject') !== (phase === 'before')) return;
  const t = ctx.now();
  const entries = await storeListByUser(ctx, userId);
  const others = entries
    .filter(({ key }) => key !== current)
    .map(({ key, record }) => infoOf(ctx, key, record, userId, t))
    .filter((info) => info !== undefined)
    .sort((a, b) => a.lastSeenAt - b.lastSeenAt);
  if (phase === 'before') {
    if (others.length >= max) throw new SessionLimitError(max);
    return;
  }
  for (const victim of others.slice(0, Math.max(0, others.length + 1 - max))) {
    if (await storeDelete(ctx, victim.handle)) {
      emit(ctx, { type: 'evict', handle: short(victim.handle), userId });
    }
  }
}

/** The "your devices" view of a live record of `userId`, or `undefined`. */
function infoOf(
  ctx: Context,
  key: string,
  record: StoreRecord,
  userId: string,
  t: number,
): Omit<SessionInfo, 'current'> | undefined {
  const payload = openRecord(ctx, key, record);
  if (payload === undefined || payload.meta.userId !== userId) return undefined;
  const m = payload.meta;
  if (record.expiresAt <= t || m.absoluteExpiresAt <= t) return undefined;
  return {
    handle: key,
    createdAt: m.createdAt,
    lastSeenAt: Math.max(m.lastSeenAt, Math.min(t, record.expiresAt - ctx.idle)),
    expiresAt: record.expiresAt,
    absoluteExpiresAt: m.absoluteExpiresAt,
    ip: m.ip,
    userAgent: m.userAgent,
    persistent: m.persistent,
  };
}

function requireAbility(ctx: Context, name: 'listByUser' | 'deleteByUser'): void {
  if (typeof ctx.store[name] !== 'function') {
    throw new ConfigError(
      `The ${ctx.store.name} store has no \`${name}\`; per-user features need it.`,
    );
  }
}
