/**
 * The one session-metadata fixture of the codec-level tests: {@link recordMeta} is the metadata
 * a hand-written record text carries (`"m":…`) — created at 1, last seen at 1, absolute expiry at
 * 2, anonymous, no client data, not persistent — with the fields a suite needs added after those
 * (the key order is the record text's).
 */

/** The base metadata of a hand-written record, with `extra` fields appended. */
export function recordMeta<E extends object = Record<never, never>>(
  extra?: E,
): {
  createdAt: number;
  lastSeenAt: number;
  absoluteExpiresAt: number;
  userId: null;
  ip: null;
  userAgent: null;
  persistent: boolean;
} & E {
  return {
    createdAt: 1,
    lastSeenAt: 1,
    absoluteExpiresAt: 2,
    userId: null,
    ip: null,
    userAgent: null,
    persistent: false,
    ...(extra as E),
  };
}
