/**
 * `sessionkit` — revoking all of a user's server-side sessions at once (docs/security.md, §7):
 * a per-user revocation generation, kept in the user's record (`user-record.ts`) in the session
 * store itself.
 *
 * A session that signs in is stamped with its user's generation (`meta.generation`, read once at
 * login). `revokeAll` first bumps the generation with one compare-and-set — that *is* the
 * revocation: every session stamped older is dead from then on, unless the bump kept it
 * (`except`) — and only then deletes the records. So neither a cleanup that fails halfway nor a
 * login whose write lands after the deletes leaves a revoked session usable.
 *
 * Cost: a signed-in load reads the user record (one small read, see {@link checkGeneration});
 * anonymous requests read nothing more than before.
 */

import type { SessionPayload } from './codec.js';
import { type Context, emit } from './context.js';
import { changeUser, isRevokedBy, readUser, type UserRecord } from './user-record.js';

/** A signed-in session as listed for a user: its handle and payload. */
export interface UserSessionEntry {
  key: string;
  payload: SessionPayload;
}

/**
 * The generation to stamp on a session that signs in as `userId` now. Rejects with `StoreError`.
 * @internal
 */
export async function currentGeneration(ctx: Context, userId: string): Promise<number> {
  return (await readUser(ctx, userId)).record.g;
}

/**
 * The load-time check of a signed-in session (`payload.meta.userId` set) under store key `key`:
 * resolves `undefined` (event `invalid-cookie`, reason `revoked`) when a `revokeAll` of its user
 * revoked it, else the payload — re-stamped with the current generation when the last
 * `revokeAll` kept it, so that its next write (a rotation too) carries it. One read (the user
 * record); rejects with `StoreError`. @internal
 */
export async function checkGeneration(
  ctx: Context,
  key: string,
  payload: SessionPayload,
  ip: string | null,
): Promise<SessionPayload | undefined> {
  const { record } = await readUser(ctx, payload.meta.userId!);
  const stamp = payload.meta.generation;
  if (isRevokedBy(record, key, stamp)) {
    emit(ctx, { type: 'invalid-cookie', reason: 'revoked', ip });
    return undefined;
  }
  if (stamp >= record.g) return payload;
  return { ...payload, meta: { ...payload.meta, generation: record.g } };
}

/**
 * A filter over `userId`'s listed sessions that drops those a `revokeAll` revoked (their records
 * may outlive a cleanup that failed). One read (the user record); rejects with `StoreError`.
 * @internal
 */
export async function revokedFilter(
  ctx: Context,
  userId: string,
): Promise<(entry: UserSessionEntry) => boolean> {
  const { record } = await readUser(ctx, userId);
  return (entry) => !isRevokedBy(record, entry.key, entry.payload.meta.generation);
}

/**
 * Revoke every session of `userId` but those of `live` whose handle is in `except`: one
 * compare-and-set of the user record raising its generation above every stamp (to at least the
 * current time, so that it also outgrows the stamps of a record that expired meanwhile) and
 * keeping the excepted handles that were still alive. `live` are the user's sessions as listed
 * just before (they set how long the record must live). Resolves how many of `live` it revoked.
 * Rejects with `StoreError` (nothing revoked). @internal
 */
export async function bumpGeneration(
  ctx: Context,
  userId: string,
  live: readonly UserSessionEntry[],
  except: readonly string[],
): Promise<number> {
  const kept = new Set(except);
  // The record must outlive every session it revokes: the longest absolute deadline listed, and
  // (for logins in flight) a whole absolute timeout from now.
  const until = Math.max(0, ...live.map((e) => e.payload.meta.absoluteExpiresAt));
  let revoked = 0;
  await changeUser(
    ctx,
    userId,
    (record: UserRecord) => {
      const alive = live.filter((e) => !isRevokedBy(record, e.key, e.payload.meta.generation));
      const k = alive.filter((e) => kept.has(e.key)).map((e) => e.key);
      revoked = alive.length - k.length;
      return { ...record, g: Math.max(record.g + 1, ctx.now()), k };
    },
    until,
  );
  if (revoked > 0) emit(ctx, { type: 'revoke', handle: '*', userId });
  return revoked;
}
