/**
 * Rules of the Redis store that the conformance suite and the flavour tests left unpinned (found
 * by the mutation run, docs/testing.md), on the real Redis at 127.0.0.1:6379 through ioredis
 * (which stored values read as records: `redis-record-rules.test.ts`): the exact header of
 * an anonymous record, dead and fractional writes, which server errors the store retries
 * differently (NOSCRIPT, WRONGTYPE, CROSSSLOT) and which it reports, the Cluster write path
 * (index first) driven through a client that offers `nodes()`, SCAN paging and repeats, and the
 * commands a call costs when nothing is due, and the operation each failing method names.
 */

import { describe, expect, it, vi } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { type IoredisClientLike, REDIS_SCRIPTS, redisStore } from '../../src/stores/redis.js';
import { collect, HOUR, record, storeKey } from './conformance.js';
import { monitored, sharedRedis, tagOf } from './redis-helpers.js';

// Scripts cached first, so the tests that count commands see EVALSHA alone, never a NOSCRIPT retry.
const shared = sharedRedis(async (raw) => {
  for (const { source } of Object.values(REDIS_SCRIPTS)) await raw('SCRIPT', 'LOAD', source);
});
const raw = shared.raw;

/** A fresh prefix, its key names, and a store on the shared client (or on `client`). */
function setup(client: IoredisClientLike = shared.client) {
  const prefix = shared.prefix();
  const store = redisStore({ client, prefix });
  const rk = (key: string) => `${prefix}s:{${key}}`;
  const uk = (user: string) => `${prefix}u:{${tagOf(user)}}`;
  /** The commands `fn` sends with the prefix's keys (with `>` those its scripts run). */
  const commands = async (fn: () => Promise<unknown>) =>
    (await monitored(raw, prefix, fn, { lua: true })).map(([name]) => name!.toUpperCase());
  return { prefix, store, rk, uk, commands };
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`resolved with ${String(value)}`);
    },
    (error: unknown) => error as Error,
  );
}

/** Run `fn` with the store's clock (`Date.now`) standing at `t`, then restore it. */
async function atClock(t: number, fn: () => Promise<unknown>): Promise<void> {
  const clock = vi.spyOn(Date, 'now').mockReturnValue(t);
  try {
    await fn();
  } finally {
    clock.mockRestore();
  }
}

/** A reply error as ioredis raises one: a server refusal whose message starts with its reason. */
const refusal = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

/** The shared client, with `fault` deciding per command whether to refuse it instead. */
function faulty(fault: (command: string, args: (string | number)[]) => Error | undefined) {
  const sent: string[] = [];
  const client: IoredisClientLike = {
    call: (command, ...args) => {
      sent.push(command);
      const error = fault(command, args);
      return error === undefined ? shared.client.call(command, ...args) : Promise.reject(error);
    },
  };
  return { client, sent };
}

describe('redis writes: header, expiry and the index score', () => {
  it('writes an anonymous record with empty index and user fields', async () => {
    const { store, rk } = setup();
    const key = storeKey();
    const written = record({ data: 'a|b\nc', version: 5 });
    await store.set(key, written);
    expect(await raw('GET', rk(key))).toBe(`1|5|${written.expiresAt}||\na|b\nc`);
  });

  it('keeps a fractional expiry exactly and gives Redis the next whole millisecond', async () => {
    const { store, rk, uk } = setup();
    const key = storeKey();
    const e = (Math.floor(Date.now() / HOUR) + 2) * HOUR + 0.5;
    await store.set(key, record({ userId: 'f', expiresAt: e }));
    expect(await raw('PEXPIRETIME', rk(key))).toBe(e + 0.5);
    // Indexed in the bucket that holds Redis's expiry, the one after the record's.
    expect(Number(await raw('ZSCORE', uk('f'), key))).toBe(e - 0.5 + HOUR);
    await expect(store.get(key)).resolves.toMatchObject({ expiresAt: e });
  });

  it('a dead signed-in write deletes the record and leaves an index entry due at its expiry', async () => {
    const { store, rk, uk } = setup();
    const key = storeKey();
    await store.set(key, record({ userId: 'ann' }));
    const e = Date.now() - 5000.5;
    await expect(store.set(key, record({ userId: 'ann', version: 2, expiresAt: e }))).resolves.toBe(
      true,
    );
    expect(await raw('EXISTS', rk(key))).toBe(0);
    expect(Number(await raw('ZSCORE', uk('ann'), key))).toBe(Math.ceil(e));
    const fresh = storeKey();
    await store.set(fresh, record({ userId: 'bob', expiresAt: e }));
    expect(Number(await raw('ZSCORE', uk('bob'), fresh))).toBe(Math.ceil(e));
    await expect(store.prune!()).resolves.toBe(2);
    expect(await raw('EXISTS', uk('ann'), uk('bob'))).toBe(0);
  });
});

describe('redis writes: what travels', () => {
  it('an anonymous write sends no index arguments; a signed-in one sends the key, score and flag', async () => {
    const sent: (string | number)[][] = [];
    const client: IoredisClientLike = {
      call: (command, ...args) => {
        sent.push([command, ...args]);
        return shared.client.call(command, ...args);
      },
    };
    const { store, rk } = setup(client);
    const key = storeKey();
    await store.set(key, record({ version: 1 }), { ifVersion: 0 });
    const anonymous = sent.find(([command]) => command === 'EVALSHA')!;
    // sha, one key, then ifVersion, now, expiresAt, Redis expiry, value and the empty user.
    expect(anonymous.slice(2, 4)).toEqual([1, rk(key)]);
    expect(anonymous.slice(4)).toHaveLength(6);
    expect(anonymous.at(-1)).toBe('');
    await expect(store.set(key, record({ version: 2 }), { ifVersion: 1 })).resolves.toBe(true);
    await expect(store.set(key, record({ version: 3 }), { ifVersion: 1 })).resolves.toBe(false);
    sent.length = 0;
    await store.set(key, record({ version: 3, userId: 'ann' }), { ifVersion: 2 });
    const signedIn = sent.find(([command]) => command === 'EVALSHA')!;
    expect(signedIn.slice(3 + Number(signedIn[2]))).toHaveLength(9);
    await expect(store.get(key)).resolves.toMatchObject({ version: 3, userId: 'ann' });
  });
});

describe('redis server errors: retried only for their own reason', () => {
  it('answers NOSCRIPT with EVAL, and any other refusal of EVALSHA with a StoreError', async () => {
    const { client, sent } = faulty((command) =>
      command === 'EVALSHA' ? refusal('ERR script killed by a test') : undefined,
    );
    const { store } = setup(client);
    const error = await rejection(store.set(storeKey(), record()));
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error.cause as Error).message).toBe('ERR script killed by a test');
    expect(sent).toEqual(['EVALSHA']);
  });

  it('reads a hash with HMGET only after WRONGTYPE; another refusal of GET is a StoreError', async () => {
    const { client, sent } = faulty((command) =>
      command === 'GET' ? refusal('ERR read refused by a test') : undefined,
    );
    const { store } = setup(client);
    const error = await rejection(store.get(storeKey()));
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error.cause as Error).message).toBe('ERR read refused by a test');
    expect(sent).toEqual(['GET']);
  });

  it('leaves the joint script only on CROSSSLOT: another refusal fails the write and is not remembered', async () => {
    let refuse = true;
    const { client, sent } = faulty((command, args) => {
      if (command !== 'EVALSHA' || args[1] !== 2 || !refuse) return undefined;
      refuse = false;
      return refusal('ERR busy, refused by a test');
    });
    const { store, uk } = setup(client);
    const key = storeKey();
    const error = await rejection(store.set(key, record({ userId: 'cara' })));
    expect((error.cause as Error).message).toBe('ERR busy, refused by a test');
    expect(sent).toEqual(['EVALSHA']);
    await expect(store.get(key)).resolves.toBeUndefined();
    // The next write still runs the record and its index in one two-key script.
    sent.length = 0;
    await expect(store.set(key, record({ userId: 'cara' }))).resolves.toBe(true);
    expect(sent).toEqual(['EVALSHA']);
    expect(await raw('ZSCORE', uk('cara'), key)).not.toBeNull();
  });
});

describe('redis errors: the StoreError names the failing operation', () => {
  const REFUSED = 'ERR refused by a test';

  it('every method: "The redis session store failed during <operation>." with the refusal as cause', async () => {
    const { client } = faulty(() => refusal(REFUSED));
    const { store } = setup(client);
    const key = storeKey();
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => store.get(key)],
      ['set', () => store.set(key, record())],
      ['touch', () => store.touch(key, Date.now() + HOUR)],
      ['delete', () => store.delete(key)],
      ['lock', () => store.lock!(key, { owner: 'owner-1', ttl: 1000 })],
      ['unlock', () => store.unlock!(key, { owner: 'owner-1' })],
      ['listByUser', () => store.listByUser!('dana')],
      ['deleteByUser', () => store.deleteByUser!('dana')],
      ['prune', () => store.prune!()],
      ['ids', () => collect(store.ids!())],
    ];
    for (const [operation, call] of calls) {
      const error = await rejection(call());
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect(error.message).toBe(`The redis session store failed during ${operation}.`);
      expect((error.cause as Error).message).toBe(REFUSED);
    }
  });

  it('a client that throws instead of rejecting: every method still rejects with a StoreError', async () => {
    const client: IoredisClientLike = {
      call: () => {
        throw new Error(REFUSED);
      },
    };
    const { store } = setup(client);
    const key = storeKey();
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => store.get(key)],
      ['set', () => store.set(key, record())],
      ['set', () => store.set(key, record({ userId: 'dana' }))],
      ['touch', () => store.touch(key, Date.now() + HOUR)],
      ['delete', () => store.delete(key)],
      ['lock', () => store.lock!(key, { owner: 'owner-1', ttl: 1000 })],
      ['listByUser', () => store.listByUser!('dana')],
    ];
    for (const [operation, call] of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = call();
      }).not.toThrow();
      const error = await rejection(promise!);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect(error.message).toBe(`The redis session store failed during ${operation}.`);
      expect((error.cause as Error).message).toBe(REFUSED);
    }
  });

  it('prune names itself when reading an index it found fails', async () => {
    // A user index to find: written through the shared client, under the prefix of the store below.
    const { prefix, store: writer } = setup();
    await writer.set(storeKey(), record({ userId: 'erin' }));
    const { client, sent } = faulty((command) =>
      command === 'ZRANGE' ? refusal(REFUSED) : undefined,
    );
    const store = redisStore({ client, prefix });
    const error = await rejection(store.prune!());
    expect(error.message).toBe('The redis session store failed during prune.');
    expect((error.cause as Error).message).toBe(REFUSED);
    // SCAN pages through the shared server's whole keyspace until it meets the index: one or more.
    expect(sent.at(-1)).toBe('ZRANGE');
    expect(new Set(sent.slice(0, -1))).toEqual(new Set(['SCAN']));
  });
});

describe('redis behind a proxy that refuses two slots in one command (CROSSSLOT)', () => {
  it('falls back to the index by its own command once, and never sends the joint script again', async () => {
    const { client, sent } = faulty((command, args) =>
      command === 'EVALSHA' && args[1] === 2
        ? refusal("CROSSSLOT Keys in request don't hash to the same slot")
        : undefined,
    );
    const { store, uk } = setup(client);
    const [one, two] = [storeKey(), storeKey()];
    await expect(store.set(one, record({ userId: 'gil' }))).resolves.toBe(true);
    expect(sent).toEqual(['EVALSHA', 'ZADD', 'EVALSHA']);
    sent.length = 0;
    await expect(store.set(two, record({ userId: 'gil' }))).resolves.toBe(true);
    expect(sent).toEqual(['ZADD', 'EVALSHA']);
    expect(((await raw('ZRANGE', uk('gil'), 0, -1)) as string[]).sort()).toEqual([one, two].sort());
  });
});

describe('redis on a Cluster client: the index goes first, by its own command', () => {
  /** The shared client as a Cluster client offers itself: `nodes()` makes the store keep record and index apart. */
  const clusterLike = (
    nodes: () => IoredisClientLike[] = () => [shared.client],
  ): IoredisClientLike => ({
    call: (command, ...args) => shared.client.call(command, ...args),
    nodes,
  });

  it('indexes before a create, an unconditional write and a dead write; a replace asks the script first', async () => {
    const { store, uk, commands } = setup(clusterLike());
    const key = storeKey();
    const start = (Math.floor(Date.now() / HOUR) + 2) * HOUR + 1;
    const write = (version: number, userId: string, ifVersion?: number, expiresAt = start) =>
      commands(async () => {
        const done = await store.set(
          key,
          record({ version, userId, expiresAt }),
          ifVersion === undefined ? {} : { ifVersion },
        );
        expect(done, `version ${version}`).toBe(ifVersion !== 9);
      });
    const bucket = start - 1 + HOUR;
    expect(await write(1, 'u', 0)).toEqual(['ZADD', 'EVALSHA', '>GET', '>SET']);
    expect(Number(await raw('ZSCORE', uk('u'), key))).toBe(bucket);
    // Same user, same bucket: the script finds the index entry covers the write.
    expect(await write(2, 'u', 1)).toEqual(['EVALSHA', '>GET', '>SET']);
    // A failed compare-and-set indexes nothing.
    expect(await write(3, 'u', 9)).toEqual(['EVALSHA', '>GET']);
    // A new user: the script answers 2, the index entry goes in, the script runs again.
    expect(await write(3, 'v', 2)).toEqual(['EVALSHA', '>GET', 'ZADD', 'EVALSHA', '>GET', '>SET']);
    expect(Number(await raw('ZSCORE', uk('v'), key))).toBe(bucket);
    // Unconditional: indexed first, whatever the record holds.
    expect(await write(4, 'v')).toEqual(['ZADD', 'EVALSHA', '>GET', '>SET']);
    // Dead (expiry passed): indexed first at the expiry itself, so prune finds it due.
    const dead = Date.now() - 5000;
    expect(await write(5, 'v', 4, dead)).toEqual(['ZADD', 'EVALSHA', '>GET', '>DEL']);
    expect(Number(await raw('ZSCORE', uk('v'), key))).toBe(dead);
    await expect(store.get(key)).resolves.toBeUndefined();
    await expect(store.prune!()).resolves.toBe(1);
    await expect(store.listByUser!('u')).resolves.toEqual([]);
  });

  it('a replace expiring exactly now is dead: indexed first at its expiry, the record deleted', async () => {
    const { store, uk } = setup(clusterLike());
    const key = storeKey();
    const t = Date.now();
    await store.set(key, record({ version: 1, userId: 'w', expiresAt: t + HOUR }), {
      ifVersion: 0,
    });
    const bucket = Number(await raw('ZSCORE', uk('w'), key));
    expect(bucket).toBeGreaterThan(t + HOUR - 1);
    // The store's clock stands at the new expiry: `expiresAt <= now` is dead, at the boundary too.
    const dead = record({ version: 2, userId: 'w', expiresAt: t + 1000 });
    await atClock(t + 1000, () =>
      expect(store.set(key, dead, { ifVersion: 1 })).resolves.toBe(true),
    );
    expect(Number(await raw('ZSCORE', uk('w'), key))).toBe(t + 1000);
    await expect(store.get(key)).resolves.toBeUndefined();
  });

  it('rejects prune and ids with a StoreError while no master is known', async () => {
    const { store } = setup(clusterLike(() => []));
    for (const call of [() => store.prune!(), () => collect(store.ids!())]) {
      const error = await rejection(call());
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect((error.cause as Error).message).toBe('No Redis master node is known (not connected).');
    }
  });
});

describe('redis SCAN: every page, every key once', () => {
  it('follows the cursor past the first page', async () => {
    const { store, rk } = setup();
    // More records than one SCAN call (COUNT 500) returns.
    const keys = Array.from({ length: 1200 }, storeKey);
    const value = `1|1|${Date.now() + HOUR}||\nd`;
    await raw('MSET', ...keys.flatMap((key) => [rk(key), value]));
    expect((await collect(store.ids!())).sort()).toEqual([...keys].sort());
  });

  it('yields only store keys: a record name around anything else is skipped', async () => {
    const { store, rk } = setup();
    const key = storeKey();
    await store.set(key, record());
    const value = `1|1|${Date.now() + HOUR}||\nd`;
    // Store keys are 16 to 128 base64url characters: none of these is one.
    for (const other of ['short', `${storeKey()}.x`, '', 'a'.repeat(129)]) {
      await raw('SET', rk(other), value, 'PX', HOUR);
    }
    expect(await collect(store.ids!())).toEqual([key]);
  });

  it('yields a key SCAN repeats once', async () => {
    const scans: number[] = [];
    const client: IoredisClientLike = {
      call: async (command, ...args) => {
        const reply = await shared.client.call(command, ...args);
        if (command !== 'SCAN') return reply;
        const [cursor, names] = reply as [string, string[]];
        scans.push(names.length);
        return [cursor, [...names, ...names]];
      },
    };
    const { store } = setup(client);
    const keys = [storeKey(), storeKey()];
    for (const key of keys) await store.set(key, record());
    expect((await collect(store.ids!())).sort()).toEqual([...keys].sort());
    expect(scans.reduce((a, b) => a + b, 0)).toBe(2);
  });
});

describe('redis costs: nothing due, nothing sent', () => {
  it('listByUser and prune send no unindex script when no entry is stale', async () => {
    const { store, commands } = setup();
    const key = storeKey();
    await store.set(key, record({ userId: 'dan' }));
    expect(await commands(() => store.listByUser!('dan'))).toEqual(['ZRANGE', 'GET']);
    expect((await commands(() => store.prune!())).filter((c) => c !== 'SCAN')).toEqual(['ZRANGE']);
    await expect(store.prune!()).resolves.toBe(0);
  });

  it('listByUser drops an entry of a vanished record once it is due — at its score exactly too', async () => {
    const { store, uk } = setup();
    const [due, later] = [storeKey(), storeKey()];
    const t = Date.now();
    await raw('ZADD', uk('fay'), t, due, t + 1, later);
    await atClock(t, () => expect(store.listByUser!('fay')).resolves.toEqual([]));
    expect(await raw('ZRANGE', uk('fay'), 0, -1)).toEqual([later]);
  });

  it("prune drops a due entry whose record lives on for another user, and keeps that user's", async () => {
    const { store, uk } = setup();
    const key = storeKey();
    await store.set(key, record({ userId: 'hal' }));
    await raw('ZADD', uk('gus'), Date.now() - 1000, key);
    await expect(store.prune!()).resolves.toBe(1);
    expect(await raw('ZSCORE', uk('gus'), key)).toBeNull();
    expect(await raw('ZSCORE', uk('hal'), key)).not.toBeNull();
    await expect(store.listByUser!('hal')).resolves.toMatchObject([{ key }]);
  });

  it('deleteByUser counts only the records it deleted, and removes only their entries', async () => {
    const { store, uk } = setup();
    const [live, vanished] = [storeKey(), storeKey()];
    await store.set(live, record({ userId: 'eve' }));
    await raw('ZADD', uk('eve'), Date.now() + HOUR, vanished);
    await expect(store.deleteByUser!('eve')).resolves.toBe(1);
    expect(await raw('ZRANGE', uk('eve'), 0, -1)).toEqual([vanished]);
  });
});
