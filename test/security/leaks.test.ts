/**
 * Attack suite — nothing secret leaves the server (SECURITY.md §3, §24). Each target runs a
 * scenario that walks through every outcome a client can provoke — sessions created, rotated and
 * destroyed, forged and expired cookies, CSRF refusals, conflicts, oversized payloads, outages —
 * with an `onEvent` collector, then scans every response body and every event for the secrets,
 * their derived keys, the connection strings, every raw session id and every full store key.
 * Error messages are scanned at the core, where they are created.
 */

import { describe, expect, it } from 'vitest';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/core/keys.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testManager } from '../support/manager.js';
import { BACKEND_FAILURE, probeStore } from '../support/probe-store.js';
import { matrix, STACK_MARKERS, start } from './targets.js';

const MINUTE = 60_000;

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`leaks: ${adapter.name} × ${storeTarget.name}`, () => {
    it('no secret, key, raw id, store key, connection string or stack in any body or event', async () => {
      const h = await start(adapter, storeTarget, {
        manager: { idleTimeout: 10 * MINUTE, maxPayloadBytes: 4096, storeTimeout: 500 },
        ...(adapter.csrf
          ? { csrf: { except: ['/set', '/login', '/logout', '/slow-set', '/big'] } }
          : {}),
      });
      const name = h.manager.cookieName;
      // Ordinary life: create, read, log in (rotation), token, regenerate through login again.
      const anon = await h.newSession({ cart: [1, 2] });
      await h.req('GET', '/whoami', { cookie: anon });
      const alice = await h.login('alice', anon);
      await h.req('GET', '/csrf-token', { cookie: alice });
      const again = await h.login('alice', alice);
      // Forged, tampered, foreign and expired cookies.
      const id = h.idOf(again);
      await h.req('GET', '/whoami', {
        cookie: `${name}=${id}.${createKeyRing(generateSecret()).sign('cookie-sign', id)}`,
      });
      await h.req('GET', '/whoami', { cookie: `${name}=${id}` });
      await h.req('GET', '/whoami', { cookie: `${name}=${id}.${'A'.repeat(43)}` });
      const doomed = await h.newSession();
      h.clock.advance(11 * MINUTE);
      await h.req('GET', '/whoami', { cookie: doomed });
      const live = await h.login('bob');
      // CSRF refusals (where the adapter has the middleware).
      await h.req('POST', '/action', { cookie: live, headers: { 'x-csrf-token': 'x'.repeat(86) } });
      await h.req('POST', '/action', { cookie: live, headers: { 'sec-fetch-site': 'cross-site' } });
      // Oversized payload, a NUL user id, a write after destroy is refused (conflict).
      await h.req('POST', '/big', { cookie: live, json: { bytes: 10_000 } });
      await h.req('POST', '/login', { cookie: live, json: { userId: 'x\u0000y' } });
      const slow = h.req('POST', '/slow-set', { cookie: live });
      await h.gates.loaded;
      await h.req('POST', '/logout', { cookie: live });
      h.gates.release();
      expect((await slow).status).toBe(409);
      // Outages: failing and hanging reads and writes.
      const victim = await h.login('carol');
      h.probe.failing.add('get');
      await h.req('GET', '/whoami', { cookie: victim });
      h.probe.failing.clear();
      h.probe.failing.add('set');
      await h.req('POST', '/set', { cookie: victim, json: { values: { a: 1 } } });
      h.probe.failing.clear();
      h.probe.hanging.add('get');
      await h.req('GET', '/whoami', { cookie: victim });
      h.probe.hanging.clear();

      const forbidden = h.forbidden();
      expect(h.ids.size).toBeGreaterThanOrEqual(6);
      expect(forbidden.length).toBeGreaterThan(20);
      const bodies = h.bodies.join('\n');
      for (const secret of [...forbidden, BACKEND_FAILURE, 'hunter2']) {
        expect(bodies).not.toContain(secret);
        expect(h.events.filter((e) => JSON.stringify(e).includes(secret))).toEqual([]);
      }
      for (const marker of STACK_MARKERS) expect(bodies).not.toContain(marker);
      // Events carry truncated handles only.
      for (const event of h.events) {
        for (const field of ['handle', 'previous'] as const) {
          const value = (event as Record<string, unknown>)[field];
          if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(12);
        }
      }
      const types = new Set(h.events.map((e) => e.type));
      for (const type of [
        'create',
        'regenerate',
        'destroy',
        'invalid-cookie',
        'conflict',
        'store-error',
      ]) {
        expect(types, type).toContain(type);
      }
      // The expired cookie: the store evicted it (unknown id) or the core saw it expire.
      expect(types.has('expire') || types.has('unknown-id')).toBe(true);
      if (adapter.csrf) expect(types).toContain('csrf-failure');
    });
  });
}

describe('leaks: error messages at the core', () => {
  it('no secret, raw id, store key or backend text in the message of any error a request can end with', async () => {
    const secret = generateSecret();
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const manager = testManager({
      store: probe,
      secrets: [secret],
      maxPayloadBytes: 1024,
      storeTimeout: 100,
    });
    const ids: string[] = [];
    const run = async (
      cookie: string | undefined,
      fn: (s: ReturnType<typeof manager.begin>['session']) => unknown,
    ) => {
      const scope = manager.begin({ cookie });
      try {
        await fn(scope.session);
        const out = await scope.end();
        const pair = out.setCookie[0]?.split(';')[0];
        if (pair !== undefined && !pair.endsWith('=')) ids.push(pair.slice(4, 47));
        return { pair, error: undefined };
      } catch (error) {
        await scope.abort().catch(() => undefined);
        return { pair: undefined, error: error as Error };
      }
    };
    const first = await run(undefined, (s) => s.set('a', 1));
    const cookie = first.pair!;
    const errors: Error[] = [];
    const collect = async (c: string | undefined, fn: Parameters<typeof run>[1]) => {
      const { error } = await run(c, fn);
      expect(error).toBeDefined();
      errors.push(error!);
    };
    await collect(cookie, (s) => s.set('big', 'x'.repeat(5000))); // too large
    await collect(cookie, (s) => s.set('__proto__.x', 1)); // data
    await collect(cookie, (s) => s.login('a\u0000b')); // state
    await collect(cookie, (s) => {
      s.destroy();
      s.set('a', 2);
    });
    probe.failing.add('get');
    await collect(cookie, (s) => s.get('a'));
    probe.failing.clear();
    probe.hanging.add('set');
    await collect(cookie, (s) => s.set('a', 3));
    probe.hanging.clear();
    // Conflict: the record disappears between load and commit.
    await collect(cookie, async (s) => {
      await s.get('a');
      await manager.store.delete(hashSessionId(ids[0]!));
      s.set('a', 4);
    });
    const forbidden = [
      secret,
      ...ids,
      ...ids.map((id) => hashSessionId(id)),
      BACKEND_FAILURE,
      'ECONNREFUSED',
    ];
    expect(errors.length).toBe(7);
    for (const error of errors) {
      for (const text of forbidden) expect(`${error.name}: ${error.message}`).not.toContain(text);
    }
  });
});
