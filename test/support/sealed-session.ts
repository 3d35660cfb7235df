/**
 * The one sealed-token fixture of the codec-level tests: {@link sealedSession} is a session as the
 * sealed-token writers (`src/core/sealed-text.ts`) receive it — the claims (`sid`, `iat`, idle
 * deadline 30 min and absolute deadline 12 h after `iat`, the user generation) and the payload
 * whose metadata agrees with them (created 5 s before `iat`, last seen at `iat`, absolute expiry
 * the claims' `exp`, anonymous from 127.0.0.1) — with the metadata a suite needs overriding those.
 */

import type { SessionPayload } from '../../src/core/codec.js';
import type { SealedClaims } from '../../src/core/sealed-text.js';

/** The issue time of every fixture token: a fixed instant in 2027. */
export const SEALED_IAT = 1_800_000_000_000;

/** The session id of every fixture token: 43 base64url characters. */
export const SEALED_SID = `${'A'.repeat(42)}Q`;

/**
 * Claims and payload of a fixture session holding `data` and `flash` as given (not copied or
 * frozen). A signed-in session (`overrides.userId` set) carries user generation 7, else 0.
 */
export function sealedSession(
  overrides: Partial<SessionPayload['meta']>,
  data: object,
  flash: object = {},
): { claims: SealedClaims; payload: SessionPayload } {
  const claims: SealedClaims = {
    sid: SEALED_SID,
    iat: SEALED_IAT,
    idle: SEALED_IAT + 1_800_000,
    exp: SEALED_IAT + 43_200_000,
    gen: overrides.userId != null ? 7 : 0,
  };
  const payload: SessionPayload = {
    data: data as SessionPayload['data'],
    flash: flash as SessionPayload['flash'],
    meta: {
      createdAt: SEALED_IAT - 5_000,
      lastSeenAt: SEALED_IAT,
      absoluteExpiresAt: claims.exp,
      userId: null,
      ip: '127.0.0.1',
      userAgent: null,
      persistent: false,
      csrf: null,
      fingerprint: null,
      generation: 0,
      ...overrides,
    },
  };
  return { claims, payload };
}
