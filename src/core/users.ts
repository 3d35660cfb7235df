/**
 * `sessionkit` — a user's sessions: the "your devices" list, revocation, and the per-user limit
 * (`maxSessionsPerUser`). All need a store with `listByUser` (revoking all: `deleteByUser`; the
 * `reject` limit: `lock`, for the user lock that makes its count and the write one step).
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
import { confirmLease, dropLease, type Lease, takeLease } from './locks.js';
import { openRecord, userStoreKey } from './records.js';
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
 * The user lock a write holds while it admits a session under the `reject` session limit: the
 * count of a user's sessions and the write of the new one must be one step, or parallel logins
 * all count the same sessions and all get in. @internal
 */
export interface Admission {
  /** The lease on the user's key, held from the count until after the write. */
  lease: Lease | undefined;
}

/**
 * Admit a session about to belong to `userId` under `maxSessionsPerUser` (`current` is its key
 * today, not counted). With `reject`: throws `SessionLimitError` when the user already has the
 * maximum of other live sessions, else leaves the user's lease lock in `admission` — renewed, so
 * the write that follows lands within it — for the caller to give back with {@link endAdmission}
 * after its write. A user already full is refused before queueing for the lock. Without a limit
 * or with `evict-oldest`, does nothing. Rejects also with `LockTimeoutError`, `ConflictError`
 * (`lock-lost`) or `StoreError`. @internal
 */
export async function admit(
  ctx: Context,
  admission: Admission,
  userId: string,
  current: string | null,
): Promise<void> {
  const max = ctx.maxSessionsPerUser;
  if (max === undefined || ctx.sessionLimit !== 'reject') return;
  const key = userStoreKey(userId);
  if (admission.lease?.key !== key) {
    await endAdmission(ctx, admission); // a retry for another user (a concurrent login)
    if ((await othersOf(ctx, userId, current)).length >= max) throw new SessionLimitError(max);
    admission.lease = await takeLease(ctx, key);
  }
  if ((await othersOf(ctx, userId, current)).length >= max) throw new SessionLimitError(max);
  await confirmLease(ctx, admission.lease);
}

/** Give back the user lock {@link admit} left, if any (an unlock failure is left to the lease). @internal */
export async function endAdmission(ctx: Context, admission: Admission): Promise<void> {
  const { lease } = admission;
  admission.lease = undefined;
  if (lease !== undefined) await dropLease(ctx, lease).catch(() => undefined);
}

/**
 * With `maxSessionsPerUser` and `evict-oldest`: after `current` was written for `userId`, revoke
 * the least recently used other sessions beyond the limit (event `evict`). @internal
 */
export async function evictOverLimit(ctx: Context, userId: string, current: string): Promise<void> {
  const max = ctx.maxSessionsPerUser;
  if (max === undefined || ctx.sessionLimit !== 'evict-oldest') return;
  const others = await othersOf(ctx, userId, current);
  for (const victim of others.slice(0, Math.max(0, others.length + 1 - max))) {
    if (await storeDelete(ctx, victim.handle)) {
      emit(ctx, { type: 'evict', handle: short(victim.handle), userId });
    }
  }
}

/** The live sessions of `userId` other than `current`, least recently used first. */
async function othersOf(
  ctx: Context,
  userId: string,
  current: string | null,
): Promise<Omit<SessionInfo, 'current'>[]> {
  const t = ctx.now();
  const entries = await storeListByUser(ctx, userId);
  return entries
    .filter(({ key }) => key !== current)
    .map(({ key, record }) => infoOf(ctx, key, record, userId, t))
    .filter((info) => info !== undefined)
    .sort((a, b) => a.lastSeenAt - b.lastSeenAt);
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
