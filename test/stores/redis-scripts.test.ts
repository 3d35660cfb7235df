/**
 * The Redis store's Lua scripts as the server knows them: `SCRIPT LOAD` on the real Redis at
 * 127.0.0.1:6379 answers the SHA-1 the store sends with `EVALSHA`, for every script. The module
 * is imported inside the test, not while this file loads, so a fault in how it computes the
 * digests fails this test instead of the file's import (a mutation run counts only failed
 * tests; docs/testing.md).
 */

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

describe('redis scripts', () => {
  it('carry the SHA-1 Redis computes for their source, as 40 hex digits', async () => {
    // backends.ts imports every store: inside the test too.
    const { REDIS_URL } = await import('../support/backends.js');
    const { REDIS_SCRIPTS } = await import('../../src/stores/_redis-scripts.js');
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    await redis.connect();
    try {
      const names = Object.keys(REDIS_SCRIPTS).sort();
      expect(names).toEqual(['delete', 'lock', 'set', 'touch', 'unindex', 'unlock']);
      for (const name of names) {
        const { source, sha } = REDIS_SCRIPTS[name as keyof typeof REDIS_SCRIPTS];
        expect(sha, name).toMatch(/^[0-9a-f]{40}$/);
        expect(await redis.call('SCRIPT', 'LOAD', source), name).toBe(sha);
      }
    } finally {
      await redis.quit();
    }
  });
});
