/**
 * `sessionkit` — writing a request's session: {@link write} applies the request's ops (and its
 * pending rotation) on the freshest record with a compare-and-set, reloading and replaying them
 * after a lost race; a session that joins a user passes the per-user limit on the way
 * (`users.ts`). Called by `commit` (`lifecycle.ts`), which decides that a write is needed.
 * {@link commitEarly} writes one small op at once, on its own compare-and-set (flash
 * consumption, CSRF secret creation).
 */

import { type SessionPayload, seenAt } from './codec.js';
import { type Context, emit, listening, short } from './context.js';
import { ConflictError, isSessionError } from './errors.js';
import { storeDelete, storeSet } from './gateway.js';
import { checkGeneration, currentGeneration } from './generation.js';
import { fenceWrite, serialize } from './locks.js';
import { applyOps, type SessionOp, staleReads } from './ops.js';
import {
  adoptKey,
  forwardRecord,
  handleOf,
  keyOf,
  newStoreKey,
  readRecord,
  recordOf,
} from './records.js';
import type { SessionState } from './state.js';
import { commitEarlySealed } from './stateless.js';
import type { StoreRecord } from './store.js';
import { type Admission, admit, endAdmission, evictOverLimit } from './users.js';
import { payloadOf } from './view.js';

/**
 * Write the ops (and the pending rotation) onto the freshest record, retrying lost CAS; in lock
 * mode each attempt is fenced first (`fenceWrite`). Rejects with `ConflictError` (also
 * `lock-lost`), `SessionLimitError`, `LockTimeoutError` (the `reject` limit's user lock) or
 * `StoreError`. @internal
 */
export function write(ctx: Context, s: SessionState): Promise<void> {
  // Not an async function: the usual write — a stored session, no rotation, no lock, nobody
  // signing in — is one compare-and-set and one reaction. Everything else, and the retries after
  // a lost race, take `attempts`.
  if (s.rotation !== 'none' || s.id === null || s.lease !== undefined) return attempts(ctx, s, 1);
  let payload: SessionPayload;
  let key: string;
  let record: StoreRecord;
  try {
    checkReadWrite(ctx, s);
    payload = payloadOf(ctx, s);
    key = keyOf(s);
    if (joinsUser(s, payload, key)) return attempts(ctx, s, 1);
    record = recordOf(ctx, key, payload, s.version + 1);
  } catch (error) {
    return Promise.reject(error);
  }
  return storeSet(ctx, key, record, conditionOf(s)).then((written) => {
    if (!written) return reload(ctx, s).then(() => attempts(ctx, s, 2));
    settle(ctx, s, s.id, payload, record);
    if (listening(ctx)) emit(ctx, { type: 'commit', handle: short(key), attempts: 1 });
    return undefined;
  });
}

/** {@link write} from attempt `first` on (the attempts before it lost their race). */
async function attempts(ctx: Context, s: SessionState, first: number): Promise<void> {
  const admission: Admission = { lease: undefined };
  // The user's generation as first read, for the retries of a sign-in; made when needed.
  let generations: Map<string, number> | undefined;
  try {
    for (let attempt = first; attempt <= ctx.maxRetries + 1; attempt++) {
      if (s.rotation !== 'invalidate') checkReadWrite(ctx, s);
      let payload = payloadOf(ctx, s);
      const oldKey = s.id === null ? null : keyOf(s);
      const userId = payload.meta.userId;
      const joins = userId !== null && joinsUser(s, payload, oldKey);
      if (joins) {
        generations ??= new Map();
        payload = await stamp(ctx, s, payload, userId, oldKey, generations);
        await admit(ctx, admission, userId, oldKey);
      }
      if (s.lease !== undefined) await fenceWrite(ctx, s);
      if (s.rotation !== 'none' || oldKey === null) {
        const newKey = await writeRotated(ctx, s, payload, oldKey, joins ? userId : null);
        if (newKey === undefined) continue;
        return;
      }
      const record = recordOf(ctx, oldKey, payload, s.version + 1);
      if (await storeSet(ctx, oldKey, record, conditionOf(s))) {
        settle(ctx, s, s.id, payload, record);
        if (joins) await evictOverLimit(ctx, userId, oldKey);
        if (listening(ctx)) emit(ctx, { type: 'commit', handle: short(oldKey), attempts: attempt });
        return;
      }
      await reload(ctx, s);
    }
  } finally {
    if (admission.lease !== undefined) await endAdmission(ctx, admission);
  }
  emit(ctx, { type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'retries-exhausted' });
  throw new ConflictError('retries-exhausted');
}

/**
 * Stamp a session joining `userId` with the user's revocation generation (`generation.ts`).
 * Signing in (another user before): the generation as read now, before the write — a `revokeAll`
 * that bumps it meanwhile revokes this session too. Rotating a signed-in session of the same
 * user: its own standing, checked again — a session kept by a `revokeAll` passes the generation
 * on to its new id; one revoked since it was loaded fails with a `destroyed` conflict rather than
 * live on under a new id. One read of the user record.
 */
async function stamp(
  ctx: Context,
  s: SessionState,
  payload: SessionPayload,
  userId: string,
  oldKey: string | null,
  generations: Map<string, number>,
): Promise<SessionPayload> {
  if (oldKey !== null && userId === s.base.meta.userId) {
    const checked = await checkGeneration(ctx, oldKey, payload, s.client.ip);
    if (checked !== undefined) return checked;
    emit(ctx, { type: 'conflict', handle: short(oldKey), reason: 'destroyed' });
    throw new ConflictError('destroyed');
  }
  const generation = generations.get(userId) ?? (await currentGeneration(ctx, userId));
  generations.set(userId, generation);
  return { ...payload, meta: { ...payload.meta, generation } };
}

/**
 * Write `payload` under a new id (a new session, or a rotation), enforce the `evict-oldest` limit
 * of `joins` (the user it signs in, if any) and retire the old record: delete it — conditionally
 * on the merged version when regenerating under `merge`/`lock` — or leave a grace forward. The
 * old record goes last: until then a failure (rejected, after deleting the undelivered new record
 * if it can) leaves the client's old session working; after it nothing can fail, so the client
 * gets the new one. Resolves the new store key, or `undefined` to try again (lost a race;
 * reloaded).
 */
async function writeRotated(
  ctx: Context,
  s: SessionState,
  payload: SessionPayload,
  oldKey: string | null,
  joins: string | null,
): Promise<string | undefined> {
  const newId = ctx.generateId();
  const newKey = newStoreKey(newId);
  const record = recordOf(ctx, newKey, payload, 1);
  if (!(await storeSet(ctx, newKey, record, 0))) return undefined;
  let ok = true;
  const conditional = s.rotation === 'regenerate' && s.mode !== 'none';
  try {
    if (joins !== null) await evictOverLimit(ctx, joins, newKey, oldKey);
    if (oldKey !== null) {
      const ifVersion = conditional ? s.version : undefined;
      ok =
        s.rotation === 'regenerate' && ctx.grace > 0
          ? await storeSet(
              ctx,
              oldKey,
              forwardRecord(ctx, oldKey, newKey, s.version + 1),
              ifVersion,
            )
          : await storeDelete(ctx, oldKey, ifVersion);
    }
  } catch (error) {
    // The new session was never delivered: no phantom device (a failure here is reported).
    await storeDelete(ctx, newKey).catch(() => undefined);
    throw error;
  }
  if (oldKey !== null) {
    if (!ok && conditional) {
      await storeDelete(ctx, newKey);
      await reload(ctx, s);
      return undefined;
    }
    emit(ctx, { type: 'regenerate', handle: short(newKey), previous: short(oldKey) });
  } else {
    emit(ctx, { type: 'create', handle: short(newKey), userId: record.userId });
  }
  adoptKey(s, newId, newKey);
  settle(ctx, s, newId, payload, record);
  return newKey;
}

/** Reload after losing a CAS; throws a `destroyed` conflict when the record is gone. @internal */
export async function reload(ctx: Context, s: SessionState): Promise<void> {
  const found = s.id === null ? undefined : await readRecord(ctx, keyOf(s), s.client, false);
  if (found === undefined) {
    emit(ctx, { type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'destroyed' });
    throw new ConflictError('destroyed');
  }
  s.version = found.record.version;
  s.expiresAt = found.record.expiresAt;
  s.base = found.payload;
}

/**
 * `true` when writing `payload` signs its user in — a new session, a rotation or another user
 * than the loaded record's — so the write stamps the user's generation and passes the per-user
 * limit (a write of the same signed-in session does neither).
 */
function joinsUser(s: SessionState, payload: SessionPayload, oldKey: string | null): boolean {
  const { userId } = payload.meta;
  return (
    userId !== null && (oldKey === null || s.rotation !== 'none' || userId !== s.base.meta.userId)
  );
}

/** The CAS condition of a write over the loaded record: none in mode `none`. @internal */
export function conditionOf(s: SessionState): number | undefined {
  return s.mode === 'none' ? undefined : s.version;
}

/** Throw a `read-write` conflict when a path this request read and then wrote has changed. */
function checkReadWrite(ctx: Context, s: SessionState): void {
  const stale = staleReads(s.observed, s.ops, s.base);
  if (stale.length > 0) {
    emit(ctx, { type: 'conflict', handle: short(handleOf(s) ?? ''), reason: 'read-write' });
    throw new ConflictError('read-write', stale);
  }
}

/** The request now works on `record` (written under `id`): its ops are done. */
function settle(
  ctx: Context,
  s: SessionState,
  id: string | null,
  payload: SessionPayload,
  record: StoreRecord,
): void {
  s.id = id;
  s.version = record.version;
  s.expiresAt = record.expiresAt;
  s.base = { data: payload.data, flash: payload.flash, meta: seenAt(payload.meta, ctx.now()) };
  s.ops = [];
  s.observed = undefined;
  s.rotation = 'none';
}

/**
 * Commit one small op at once, on its own compare-and-set (flash consumption, CSRF secret
 * creation), so that parallel requests agree on its outcome. Resolves the op as applied, or
 * `undefined` when `needed` says there is nothing to do (also after the session vanished).
 * @internal
 */
export async function commitEarly<T extends SessionOp>(
  ctx: Context,
  s: SessionState,
  makeOp: () => T,
  needed: (payload: SessionPayload) => boolean,
): Promise<T | undefined> {
  if (s.sealed !== undefined) return commitEarlySealed(ctx, s, makeOp, needed);
  if (s.id === null || !needed(s.base)) return undefined;
  const key = keyOf(s);
  return serialize(ctx, key, async () => {
    for (let attempt = 0; attempt <= ctx.maxRetries; attempt++) {
      if (!needed(s.base)) return undefined;
      const op = makeOp();
      const payload = applyOps(s.base, [op], ctx.limits.maxDepth);
      const record = recordOf(ctx, key, payload, s.version + 1);
      if (s.lease !== undefined) await fenceWrite(ctx, s);
      if (await storeSet(ctx, key, record, conditionOf(s))) {
        s.version = record.version;
        s.expiresAt = record.expiresAt;
        s.base = payload;
        return op;
      }
      try {
        await reload(ctx, s);
      } catch (error) {
        if (isSessionError(error, 'ERR_SESSION_CONFLICT')) return undefined;
        throw error;
      }
    }
    throw new ConflictError('retries-exhausted');
  });
}
