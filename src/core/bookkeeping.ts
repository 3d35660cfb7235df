/**
 * `sessionkit` — the one owner of "is this stored record a session?". Besides sessions (and the
 * grace forwards of `codec.ts`), a store holds the revocation bookkeeping the library writes
 * itself, under hashed keys like a session's: per-user records (`user-record.ts`: a revocation
 * generation, and for sealed sessions the user's live sessions) and denylist entries
 * (`revocation.ts`: a revoked sealed session, a hybrid session's stateless side after it moved).
 * Every scan of a store — the CLI's `stats` and `show`, `reseal` — asks {@link bookkeepingOf}
 * and skips or labels them instead of taking them for corrupt sessions. They are told apart by
 * their text alone: each kind starts with its own envelope (`{"v":1,"g":`, the denylist entry
 * below), which no encoded session (`{"v":1,"d":`) or sealed one (`sk1.`) does.
 */

import { isUserRecord } from './user-record.js';

/** The whole text of a denylist entry. @internal */
export const DENIED_RECORD = '{"v":1,"revoked":true}';

/** A record that is revocation bookkeeping: a per-user record, or a denylist entry. */
export type BookkeepingKind = 'user' | 'denied';

/** What bookkeeping record `text` (a stored record's data) is, or `undefined` for anything else. */
export function bookkeepingOf(text: string): BookkeepingKind | undefined {
  if (text === DENIED_RECORD) return 'denied';
  return isUserRecord(text) ? 'user' : undefined;
}
