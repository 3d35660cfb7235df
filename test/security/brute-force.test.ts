/**
 * Attack suite — guessing sessions (issue 11, item 9): an attacker who sends forged cookies and
 * signed ids without a record from one address, behind spoofed forwarding headers, is reported
 * under the address the adapter resolved (the socket, as no proxy is trusted here), and crossing
 * the threshold raises exactly one `brute-force` event. Every adapter, over real HTTP, on the
 * memory store (the counter lives in the core; the store only answers "not found").
 */

import { describe, expect, it } from 'vitest';
import { createKeyRing, generateSecret, generateSessionId } from '../../src/core/keys.js';
import { ADAPTERS, STORES, start } from './targets.js';

const memory = STORES.find((s) => s.name === 'memory')!;

for (const adapter of ADAPTERS) {
  describe(`brute force: ${adapter.name} × memory`, () => {
    it('guesses report the socket address, not a spoofed X-Forwarded-For; one brute-force event past the threshold', async () => {
      const h = await start(adapter, memory, { manager: { bruteForce: { threshold: 10 } } });
      const name = h.manager.cookieName;
      const mine = createKeyRing(h.secrets[0]!);
      const theirs = createKeyRing(generateSecret());
      for (let i = 0; i < 12; i++) {
        const id = generateSessionId();
        // Alternate forged signatures and genuinely signed ids that have no record.
        const ring = i % 2 === 0 ? theirs : mine;
        const reply = await h.req('GET', '/whoami', {
          cookie: `${name}=${id}.${ring.sign('cookie-sign', id)}`,
          headers: { 'x-forwarded-for': `6.6.6.${i}`, forwarded: `for=6.6.6.${i}` },
        });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ data: {}, userId: null, flagged: false });
        expect(reply.setCookies).toEqual([]);
      }
      const guesses = h.events.filter(
        (e) => (e.type === 'invalid-cookie' && e.reason === 'signature') || e.type === 'unknown-id',
      );
      expect(guesses).toHaveLength(12);
      for (const event of guesses) {
        expect((event as { ip: unknown }).ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      }
      const signals = h.events.filter((e) => e.type === 'brute-force');
      expect(signals).toEqual([
        { type: 'brute-force', ip: '127.0.0.1', guesses: 10, window: 60_000 },
      ]);
    });
  });
}
