/**
 * `sessionkit stats` — what a store holds: live sessions signed in and anonymous, users and who
 * has the most, the size distribution, age and idle histograms, and (SQL stores) expired rows
 * awaiting prune and lock rows. One pass over the live records, a page at a time.
 */

import type { ConfiguredStore } from '../../config/index.js';
import { ConfigError } from '../../core/errors.js';
import type { StoreEntry } from '../../core/store.js';
import { bytes, type RecordReader } from '../store.js';

/** A histogram: one count per bucket, buckets named by their upper bound. */
export type Histogram = { bucket: string; count: number }[];

/** What `stats` found. Sizes in bytes. */
export interface Stats {
  store: string;
  sessions: number;
  signedIn: number;
  anonymous: number;
  users: number;
  /** The users with the most sessions (at most five). */
  topUsers: { userId: string; sessions: number }[];
  size: { total: number; min: number; median: number; p90: number; p99: number; max: number };
  sizes: Histogram;
  /** Since creation; sessions whose metadata could not be read are not counted. */
  age: Histogram;
  /** Since last seen. */
  idle: Histogram;
  /** Records that could not be opened (sealed, without `SESSION_SECRETS`). */
  unreadable: number;
  /**
   * Revocation bookkeeping found beside the sessions, not counted as sessions: per-user records
   * (`users`) and denylist entries of revoked sealed sessions or moved hybrid ones (`denied`).
   */
  bookkeeping: { users: number; denied: number };
  /** SQL stores: expired rows awaiting prune, and lock rows; `null` elsewhere. */
  tables: { expired: number; locks: number; expiredLocks: number } | null;
}

const KIB = 1024;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SIZE_BUCKETS: [string, number][] = [
  ['< 1 KiB', KIB],
  ['< 4 KiB', 4 * KIB],
  ['< 16 KiB', 16 * KIB],
  ['< 64 KiB', 64 * KIB],
  ['≥ 64 KiB', Number.POSITIVE_INFINITY],
];
const AGE_BUCKETS: [string, number][] = [
  ['< 1 h', HOUR],
  ['< 6 h', 6 * HOUR],
  ['< 1 d', DAY],
  ['< 7 d', 7 * DAY],
  ['≥ 7 d', Number.POSITIVE_INFINITY],
];
const IDLE_BUCKETS: [string, number][] = [
  ['< 1 min', MIN],
  ['< 5 min', 5 * MIN],
  ['< 30 min', 30 * MIN],
  ['< 2 h', 2 * HOUR],
  ['≥ 2 h', Number.POSITIVE_INFINITY],
];

/**
 * Gather {@link Stats} from `store`'s live records (SQL stores page through them; others list
 * `ids()` and read each). Throws `ConfigError` for a store that cannot list its records.
 */
export async function stats(
  store: ConfiguredStore,
  read: RecordReader,
  now: number = Date.now(),
): Promise<Stats> {
  // A tiered store's records are its persistent tier's (the cache holds a subset).
  const source = store.tiers?.persistent ?? store;
  const sizes: number[] = [];
  const perUser = new Map<string, number>();
  const age = AGE_BUCKETS.map(() => 0);
  const idle = IDLE_BUCKETS.map(() => 0);
  let anonymous = 0;
  let unreadable = 0;
  const bookkeeping = { users: 0, denied: 0 };
  for await (const { key, record } of entries(source)) {
    const opened = read(key, record);
    if (opened.kind === 'bookkeeping') {
      bookkeeping[opened.of === 'user' ? 'users' : 'denied']++;
      continue;
    }
    sizes.push(Buffer.byteLength(record.data));
    if (record.userId === null) anonymous++;
    else perUser.set(record.userId, (perUser.get(record.userId) ?? 0) + 1);
    if (opened.kind === 'unreadable') unreadable++;
    if (opened.kind !== 'session') continue;
    const { createdAt, lastSeenAt } = opened.payload.meta;
    age[bucketOf(AGE_BUCKETS, now - createdAt)]!++;
    idle[bucketOf(IDLE_BUCKETS, now - lastSeenAt)]!++;
  }
  sizes.sort((a, b) => a - b);
  const at = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))] ?? 0;
  const bySize = SIZE_BUCKETS.map(() => 0);
  for (const size of sizes) bySize[bucketOf(SIZE_BUCKETS, size)]!++;
  const counts = typeof source.counts === 'function' ? await source.counts() : undefined;
  return {
    store: store.description,
    sessions: sizes.length,
    signedIn: sizes.length - anonymous,
    anonymous,
    users: perUser.size,
    topUsers: [...perUser]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([userId, sessions]) => ({ userId, sessions })),
    size: {
      total: sizes.reduce((sum, s) => sum + s, 0),
      min: sizes[0] ?? 0,
      median: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sizes.at(-1) ?? 0,
    },
    sizes: histogram(SIZE_BUCKETS, bySize),
    age: histogram(AGE_BUCKETS, age),
    idle: histogram(IDLE_BUCKETS, idle),
    unreadable,
    bookkeeping,
    tables:
      counts === undefined
        ? null
        : { expired: counts.expired, locks: counts.locks, expiredLocks: counts.expiredLocks },
  };
}

/** The report for people: counts, then each histogram as bars. */
export function formatStats(s: Stats): string[] {
  const top = s.topUsers.map((u) => `${u.userId} (${u.sessions})`).join(', ');
  const lines = [
    `store       ${s.store}`,
    `sessions    ${s.sessions} live: ${s.signedIn} signed in, ${s.anonymous} anonymous`,
    `users       ${s.users}${top === '' ? '' : `; most sessions: ${top}`}`,
    `size        total ${bytes(s.size.total)}; median ${bytes(s.size.median)}, p90 ${bytes(s.size.p90)}, p99 ${bytes(s.size.p99)}, max ${bytes(s.size.max)}`,
  ];
  if (s.tables !== null) {
    lines.push(
      `expired     ${s.tables.expired} awaiting prune`,
      `lock rows   ${s.tables.locks} held, ${s.tables.expiredLocks} expired`,
    );
  }
  const { users, denied } = s.bookkeeping;
  if (users + denied > 0) {
    lines.push(
      `revocation  ${users} user record${users === 1 ? '' : 's'}, ${denied} denylist entr${denied === 1 ? 'y' : 'ies'} (not sessions)`,
    );
  }
  if (s.unreadable > 0) {
    lines.push(`unreadable  ${s.unreadable} (sealed: set SESSION_SECRETS for age and idle times)`);
  }
  for (const [title, h] of [
    ['size', s.sizes],
    ['age (since created)', s.age],
    ['idle (since last seen)', s.idle],
  ] as const) {
    lines.push('', title, ...bars(h));
  }
  return lines;
}

/** Live records with their keys: SQL stores page through them, others read each of `ids()`. */
async function* entries(store: ConfiguredStore): AsyncGenerator<StoreEntry> {
  const paged = (store as { entries?: () => AsyncIterable<StoreEntry> }).entries;
  if (typeof paged === 'function') {
    yield* paged();
    return;
  }
  if (typeof store.ids !== 'function') {
    throw new ConfigError(`The ${store.description} store cannot list its sessions.`);
  }
  for await (const key of store.ids()) {
    const record = await store.get(key);
    if (record !== undefined) yield { key, record };
  }
}

function bucketOf(buckets: readonly [string, number][], value: number): number {
  return buckets.findIndex(([, bound]) => value < bound);
}

function histogram(buckets: readonly [string, number][], counts: readonly number[]): Histogram {
  return buckets.map(([bucket], i) => ({ bucket, count: counts[i] ?? 0 }));
}

function bars(h: Histogram): string[] {
  const max = Math.max(1, ...h.map((b) => b.count));
  return h.map(
    ({ bucket, count }) =>
      `  ${bucket.padEnd(9)} ${'█'.repeat(Math.ceil((count / max) * 30)).padEnd(30)} ${count}`,
  );
}
