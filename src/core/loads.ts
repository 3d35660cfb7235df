/**
 * `sessionkit` — loading a server-side session: {@link loadStored} verifies the request's cookie
 * (a value verified before costs no HMAC: `verified-ids.ts`), takes the lock in lock mode, reads
 * the record, checks a signed-in record's revocation generation and the fingerprint, and leaves
 * the request on the record it found or on a fresh session. Called by `load` (`lifecycle.ts`).
 */

import { fingerprintMatches } from './client.js';
import { type Context, emit, emitGuess, short } from './context.js';
import { verifyCookieValue } from './cookie-value.js';
import { hasEventSubscribers, publishEvent } from './diagnostics.js';
import { storeDelete } from './gateway.js';
import { checkGeneration } from './generation.js';
import { acquireLock } from './locks.js';
import {
  adoptKey,
  type FoundRecord,
  freshPayload,
  handleOf,
  keyFor,
  readRecord,
} from './records.js';
import type { SessionState } from './state.js';
import type { VerifiedId } from './verified-ids.js';

/** A settled promise for work with nothing to do (shared: nothing chains on it but reads). @internal */
export const DONE: Promise<void> = Promise.resolve();

/**
 * Load a server-side session from the presented `values` (see the module header). Not an async
 * function: the usual load — a valid cookie, no lock, an anonymous record, no fingerprint — is the
 * record's read and one reaction; a lock, a signed-in record or a fingerprint take
 * {@link loadChecked}. Rejects with `StoreError` or `LockTimeoutError`, after which the session
 * is unusable (`s.failed`). @internal
 */
export function loadStored(
  ctx: Context,
  s: SessionState,
  values: readonly string[],
): Promise<void> {
  let verified: VerifiedId | null;
  try {
    verified = verifyCookie(ctx, s, values);
    if (verified === null) {
      loaded(ctx, s);
      return DONE;
    }
  } catch (error) {
    return failLoad(s, error);
  }
  if (s.mode === 'lock') return loadChecked(ctx, s, verified, undefined);
  const found = readRecord(ctx, verified.key, s.client, true);
  return found.then(
    (record) => {
      if (record !== undefined && (record.payload.meta.userId !== null || ctx.fingerprint)) {
        return loadChecked(ctx, s, verified, record);
      }
      try {
        if (record !== undefined) adopt(s, verified, record);
        loaded(ctx, s);
      } catch (error) {
        return failLoad(s, error);
      }
      return undefined;
    },
    (error: unknown) => failLoad(s, error),
  );
}

/**
 * {@link loadStored} with the lock (lock mode: taken before the read, `read` is `undefined`), the
 * revocation check of a signed-in record and the fingerprint check.
 */
async function loadChecked(
  ctx: Context,
  s: SessionState,
  verified: VerifiedId,
  read: FoundRecord | undefined,
): Promise<void> {
  try {
    const { key } = verified;
    let found = read;
    if (found === undefined) {
      await acquireLock(ctx, s, key);
      found = await readRecord(ctx, key, s.client, true);
    }
    if (found !== undefined && found.payload.meta.userId !== null) {
      // Signed in: one more small read, the user's revocation generation (anonymous: none).
      const payload = await checkGeneration(ctx, key, found.payload, s.client.ip);
      found = payload === undefined ? undefined : { ...found, payload };
    }
    if (found !== undefined && !fingerprintMatches(ctx, found.payload.meta, s.client)) {
      const policy = ctx.fingerprint!.policy;
      emit(ctx, { type: 'fingerprint-mismatch', handle: short(key), policy });
      if (policy === 'destroy') {
        if (!found.forwarded) await storeDelete(ctx, key);
        emit(ctx, { type: 'destroy', handle: short(key) });
        found = undefined;
      } else {
        s.flagged = true;
      }
    }
    if (found !== undefined) adopt(s, verified, found);
    loaded(ctx, s);
  } catch (error) {
    s.failed = error;
    throw error;
  }
}

/** The request works on `found`, the live record its verified cookie named. */
function adopt(s: SessionState, verified: VerifiedId, found: FoundRecord): void {
  if (found.forwarded) s.readOnly = true;
  s.clientId = verified.id;
  s.id = verified.id;
  // Signed under an older secret: re-issue the same id under the primary (key rotation).
  if (verified.stale) s.cookieDirty = true;
  s.version = found.record.version;
  s.expiresAt = found.record.expiresAt;
  // After invalidate() the request works on a fresh session; the old one is only deleted.
  if (s.rotation !== 'invalidate') s.base = found.payload;
}

/** The end of every server-side load: a fresh payload when nothing live was found; the event. */
function loaded(ctx: Context, s: SessionState): void {
  if (s.id === null && s.rotation !== 'invalidate') s.base = freshPayload(ctx, s.client);
  s.loaded = true;
  if (hasEventSubscribers()) {
    const handle = handleOf(s);
    const found = handle !== undefined;
    publishEvent({
      store: ctx.store.name,
      type: 'load',
      handle: found ? short(handle) : handle,
      found,
    });
  }
}

/** A failed load: the session is unusable (`s.failed`); rejects with `error`. */
function failLoad(s: SessionState, error: unknown): Promise<never> {
  s.failed = error;
  return Promise.reject(error);
}

/**
 * The first presented cookie value signed by the ring, or `null`. Emits `invalid-cookie`
 * (`signature`, a counted guess) for each forged value as met, then once `malformed` if any value
 * was malformed; both name the client's address.
 */
function verifyCookie(ctx: Context, s: SessionState, values: readonly string[]): VerifiedId | null {
  let sawMalformed = false;
  for (const value of values) {
    // A value that verified before (verified-ids.ts): no HMAC, and its store key is known.
    let verified = ctx.verified.find(value);
    if (verified === undefined) {
      const check = verifyCookieValue(ctx.keys, value);
      if (check === 'malformed') {
        sawMalformed = true;
        continue;
      }
      if (check === 'signature') {
        emitGuess(ctx, { type: 'invalid-cookie', reason: 'signature', ip: s.client.ip });
        continue;
      }
      verified = ctx.verified.remember(value, check.id, check.stale, keyFor(s, check.id));
    }
    adoptKey(s, verified.id, verified.key);
    return verified;
  }
  if (sawMalformed) emit(ctx, { type: 'invalid-cookie', reason: 'malformed', ip: s.client.ip });
  return null;
}
