/**
 * `sessionkit` — the per-user record: a user's revocation generation, the sessions kept by the
 * last `revokeAll`, and (sealed-cookie sessions only) the user's live sessions. One record per
 * user, under a hashed key (the user id never reaches the store in clear), changed only by
 * compare-and-set. Sealed sessions keep it in their revocation store (`revocation.ts`);
 * server-side sessions in the session store itself (`generation.ts`).
 */

import type { Context } from './context.js';
import { ConflictError } from './errors.js';
import { storeGet, storeSet } from './gateway.js';
import { hashSessionId } from './keys.js';

/** One live session in a user record (sealed sessions). Times in ms. */
export interface UserSession {
  /** Handle (SHA-256 of the session id). */
  h: string;
  /** Created at. */
  c: number;
  /** Last seen (login, rotation, or a re-seal at most once per `touchInterval`). */
  l: number;
  /** Absolute deadline. */
  e: number;
  ip: string | null;
  ua: string | null;
  /** Persistent cookie. */
  p: boolean;
}

/** What the store holds for a user (sealed sessions; server-side stores use `g` and `k` only). */
export interface UserRecord {
  /** Revocation generation: tokens sealed with an older one are refused (unless in `k`). */
  g: number;
  /** Handles kept by the last `revokeAll` (`except`): allowed with the previous generation. */
  k: string[];
  /** Live sessions. */
  s: UserSession[];
}

/** A user record as read: its content and the version to compare-and-set against (`0`: none). */
export interface UserState {
  record: UserRecord;
  version: number;
}

const EMPTY: UserRecord = Object.freeze({ g: 0, k: [], s: [] }) as UserRecord;

/**
 * `true` when the session `handle`, signed in under generation `gen`, is older than the user's
 * generation and was not kept by the last `revokeAll`. @internal
 */
export function isRevokedBy(record: UserRecord, handle: string, gen: number): boolean {
  return gen < record.g && !record.k.includes(handle);
}

/** The store key of a user's record: the user id never reaches the store in clear. */
function userKey(userId: string): string {
  return hashSessionId(`sessionkit/user\0${userId}`);
}

/** Read `userId`'s record (an empty one when there is none). Rejects with `StoreError`. @internal */
export async function readUser(ctx: Context, userId: string): Promise<UserState> {
  const stored = await storeGet(ctx, userKey(userId));
  const record = stored === undefined ? undefined : parseUser(stored.data);
  // An unreadable record is a fresh one: the next write replaces it (its version is kept).
  return { record: record ?? EMPTY, version: stored?.version ?? 0 };
}

/**
 * Apply `change` to `userId`'s record with a compare-and-set, reloading after a lost race.
 * `change` returning `undefined` writes nothing. Resolves the record as it now is. The record
 * lives at least until `until` (ms). Rejects with `StoreError`, or `ConflictError` after
 * `maxRetries` lost races. @internal
 */
export async function changeUser(
  ctx: Context,
  userId: string,
  change: (record: UserRecord) => UserRecord | undefined,
  until = 0,
): Promise<UserRecord> {
  for (let attempt = 0; attempt <= ctx.maxRetries; attempt++) {
    const { record, version } = await readUser(ctx, userId);
    const next = change(record);
    if (next === undefined) return record;
    if (await writeUser(ctx, userId, next, version, until)) return next;
  }
  throw new ConflictError('retries-exhausted');
}

/**
 * Write a user record at `version + 1` (create-only when `version` is 0). It lives as long as the
 * longest session signed in before this write can: `absoluteTimeout` (plus the sealed leeway)
 * from now, and at least until `until`. Resolves `false` when the compare-and-set lost. @internal
 */
export function writeUser(
  ctx: Context,
  userId: string,
  record: UserRecord,
  version: number,
  until = 0,
): Promise<boolean> {
  const expiresAt = Math.max(until, ctx.now() + ctx.absolute + (ctx.sealed?.leeway ?? 0));
  const data = JSON.stringify({ v: 1, ...record });
  return storeSet(
    ctx,
    userKey(userId),
    { data, version: version + 1, expiresAt, userId: null },
    version,
  );
}

/** `true` when `text` is a user record (a store scan meets them beside sessions). @internal */
export function isUserRecord(text: string): boolean {
  return text.startsWith('{"v":1,"g":') && parseUser(text) !== undefined;
}

function parseUser(text: string): UserRecord | undefined {
  try {
    const raw = JSON.parse(text) as Partial<UserRecord> & { v?: unknown };
    if (
      raw.v !== 1 ||
      !Number.isSafeInteger(raw.g) ||
      !Array.isArray(raw.k) ||
      !Array.isArray(raw.s)
    ) {
      return undefined;
    }
    const s = raw.s
      .filter(isEntry)
      .map((e) => ({ ...e, ip: e.ip ?? null, ua: e.ua ?? null, p: e.p === true }));
    return { g: raw.g!, k: raw.k.filter((h) => typeof h === 'string'), s };
  } catch {
    return undefined;
  }
}

function isEntry(value: unknown): value is UserSession {
  const e = value as Partial<UserSession> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.h === 'string' &&
    typeof e.c === 'number' &&
    typeof e.l === 'number' &&
    typeof e.e === 'number'
  );
}
