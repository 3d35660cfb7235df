/**
 * Attack suite — hostile ids and oversized input, over real HTTP against every adapter × store
 * (SECURITY.md §1, §3, §9, §16, "Anonymous"). A hostile cookie never reaches the store (zero
 * calls), and hostile user ids or handles — which do reach it — never become part of a path,
 * an SQL text or a backend key: the backend's recorded addresses are scanned for them, and the
 * file store's parent directory for anything that escaped.
 */

import { describe, expect, it } from 'vitest';
import { type Harness, matrix, rawRequest, start } from './targets.js';

/** Hostile values `fetch` can send in a header, with the fragment that must never show up. */
const HOSTILE: readonly [label: string, value: string, marker: string][] = [
  ['path traversal', '../../../../../../etc/passwd', 'etc/passwd'],
  ['encoded traversal', '..%2F..%2F..%2Fetc%2Fshadow', 'shadow'],
  ['windows traversal', '..\\..\\..\\windows\\win.ini', 'win.ini'],
  ['SQL quote', "' OR '1'='1' --", "OR '1'"],
  ['SQL statement', '"); DROP TABLE sessionkit_sessions; --', 'DROP TABLE'],
  ['Redis glob', 'sess:*?[a-z]{x}', 'sess:*'],
  ['Redis command', 'x FLUSHALL EVAL', 'FLUSHALL'],
  ['43-char traversal', '../../../../../../../../../../../tmp/owned.', 'owned'],
  ['huge (9 KB)', `HUGE${'A'.repeat(9 * 1024)}`, 'HUGE'],
];

/** Hostile bytes only a raw socket can send (NUL, CR/LF header injection, UTF-8). */
const RAW_HOSTILE: readonly [label: string, value: Buffer, marker: string][] = [
  ['NUL', Buffer.from('abc\u0000NULMARK', 'latin1'), 'NULMARK'],
  ['CRLF injection', Buffer.from('x\r\nSet-Cookie: injected=CRLFMARK', 'latin1'), 'CRLFMARK'],
  ['bare LF', Buffer.from('x\nX-Evil: LFMARK', 'latin1'), 'LFMARK'],
  ['unicode', Buffer.from('ｓｅｓｓｉｏｎ😀UNIMARK', 'utf8'), 'UNIMARK'],
  ['high latin1', Buffer.from('\u00ff\u00feLATMARK', 'latin1'), 'LATMARK'],
];

const VALID_SHAPE = 'A'.repeat(43);

async function expectNothingReached(h: Harness, markers: readonly string[]): Promise<void> {
  expect(h.probe.log).toEqual([]);
  const addresses = (await h.backend.addresses()).join('\n');
  for (const marker of markers) expect(addresses).not.toContain(marker);
  expect(await h.backend.escaped()).toEqual([]);
}

for (const [adapter, storeTarget] of matrix(import.meta.url)) {
  describe(`hostile input: ${adapter.name} × ${storeTarget.name}`, () => {
    it('hostile cookie values (traversal, SQL, Redis, huge) are anonymous and reach no store', async () => {
      const h = await start(adapter, storeTarget);
      await h.newSession(); // the store is live and has something to find
      h.probe.reset();
      const name = h.manager.cookieName;
      for (const [label, value] of HOSTILE) {
        for (const cookie of [
          `${name}=${value}`,
          `${name}=${value}.${VALID_SHAPE}`,
          `${name}=${VALID_SHAPE}.${value}`,
          `${name}="${value}"`,
        ]) {
          const reply = await h.req('GET', '/whoami', { cookie });
          expect(reply.status, label).toBe(200);
          expect(reply.json, label).toMatchObject({ data: {}, userId: null });
          expect(reply.setCookies, label).toEqual([]);
        }
      }
      await expectNothingReached(
        h,
        HOSTILE.map(([, , marker]) => marker),
      );
    });

    it('hostile bytes (NUL, CR/LF, UTF-8) in the Cookie header: never 5xx, never injected, no store call', async () => {
      const h = await start(adapter, storeTarget);
      h.probe.reset();
      const host = new URL(h.url).host;
      for (const [label, value, marker] of RAW_HOSTILE) {
        const head = Buffer.concat([
          Buffer.from(`GET /whoami HTTP/1.1\r\nHost: ${host}\r\nCookie: ${h.manager.cookieName}=`),
          value,
          Buffer.from('\r\nConnection: close\r\n\r\n'),
        ]);
        const { status, text } = await rawRequest(h.url, head);
        expect(status, label).toBeGreaterThanOrEqual(200);
        expect(status, label).toBeLessThan(500);
        // Whatever the parser made of it, nothing came back as a header of ours.
        expect(text.toLowerCase(), label).not.toContain('injected=');
        expect(text, label).not.toMatch(/\r\nX-Evil/i);
        if (status === 200) expect(text, label).toContain('"data":{}');
        expect(text).not.toContain(marker);
      }
      await expectNothingReached(
        h,
        RAW_HOSTILE.map(([, , marker]) => marker),
      );
    });

    it('hostile user ids reach the store only as bound data: no path, SQL text or key contains them', async () => {
      const h = await start(adapter, storeTarget, {
        manager: { maxSessionsPerUser: 5 }, // login lists the user's sessions (listByUser)
      });
      const markers: string[] = [];
      for (const [label, value, marker] of [
        ...HOSTILE.filter(([l]) => !l.startsWith('huge')),
        ['unicode', 'ｕｓｅｒ😀UNIUSER', 'UNIUSER'] as const,
      ]) {
        markers.push(marker);
        const a = await h.login(value);
        const b = await h.login(value);
        const whoami = await h.req('GET', '/whoami', { cookie: a });
        expect(whoami.json, label).toMatchObject({ userId: value });
        const revoked = await h.req('POST', '/logout-everywhere', { cookie: b });
        expect(revoked.status, label).toBe(200);
        expect(revoked.json, label).toEqual({ count: 2 });
        expect((await h.req('GET', '/whoami', { cookie: a })).json, label).toMatchObject({
          userId: null,
        });
      }
      const addresses = (await h.backend.addresses()).join('\n');
      for (const marker of markers) expect(addresses).not.toContain(marker);
      expect(await h.backend.escaped()).toEqual([]);
    });

    it('a user id with a NUL byte is refused by login() on every store: a generic 500, never a 503 or a write', async () => {
      // Found by this suite: PostgreSQL text cannot hold NUL, so such a login used to fail as a
      // store outage (503 + store-error event) on postgres only, and succeed everywhere else.
      const h = await start(adapter, storeTarget);
      const before = await h.backend.dump();
      const reply = await h.req('POST', '/login', { json: { userId: 'user\u0000NULUSER' } });
      expect(reply.status).toBe(500);
      expect(reply.setCookies).toEqual([]);
      expect(h.events.filter((e) => e.type === 'store-error')).toEqual([]);
      expect(await h.backend.dump()).toBe(before);
    });

    it('hostile handles given to revokeSession resolve false: never 5xx, no path or query', async () => {
      const h = await start(adapter, storeTarget);
      const alice = await h.login('alice');
      const bob = await h.login('bob');
      for (const [label, value] of [...HOSTILE, ["bob's real handle", h.keyOf(bob), '']]) {
        const reply = await h.req('POST', '/revoke', { cookie: alice, json: { handle: value } });
        expect(reply.status, label).toBe(200);
        expect(reply.json, label).toEqual({ revoked: false });
      }
      // Ownership: bob's session survived alice's attempt on his real handle.
      expect((await h.req('GET', '/whoami', { cookie: bob })).json).toMatchObject({
        userId: 'bob',
      });
      const addresses = (await h.backend.addresses()).join('\n');
      for (const [, , marker] of HOSTILE) expect(addresses).not.toContain(marker);
      expect(await h.backend.escaped()).toEqual([]);
    });

    it('oversized: a payload above maxPayloadBytes is a generic 500 and nothing is written', async () => {
      const h = await start(adapter, storeTarget, { manager: { maxPayloadBytes: 4096 } });
      const before = await h.backend.dump();
      const fresh = await h.req('POST', '/big', { json: { bytes: 10_000 } });
      expect(fresh.status).toBe(500);
      expect(fresh.setCookies).toEqual([]);
      expect(fresh.text).not.toMatch(/bytes|limit|TooLarge/i);
      expect(await h.backend.dump()).toBe(before);
      // An existing session keeps its data when a request overflows it.
      const pair = await h.newSession({ kept: true });
      const over = await h.req('POST', '/big', { cookie: pair, json: { bytes: 10_000 } });
      expect(over.status).toBe(500);
      expect(over.setCookies).toEqual([]);
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { kept: true },
      });
      expect(await h.backend.dump()).not.toContain('x'.repeat(4096));
    });

    it('oversized: huge and numerous cookies and headers are never 5xx; the real cookie still counts', async () => {
      const h = await start(adapter, storeTarget);
      const pair = await h.newSession({ mine: true });
      const name = h.manager.cookieName;
      const noise = Array.from({ length: 60 }, (_, i) => `junk${i}=${'z'.repeat(100)}`).join('; ');
      const padded = await h.req('GET', '/whoami', {
        cookie: `${noise}; ${pair}`,
        headers: { 'user-agent': 'U'.repeat(8000) },
      });
      expect(padded.json).toMatchObject({ data: { mine: true } });
      h.probe.reset();
      const many = Array.from({ length: 100 }, () => `${name}=${VALID_SHAPE}.${VALID_SHAPE}`);
      const flood = await h.req('GET', '/whoami', { cookie: many.join('; ') });
      expect(flood.status).toBe(200);
      expect(flood.json).toMatchObject({ data: {} });
      expect(h.probe.log).toEqual([]);
      // Beyond the server's header limit: refused by the HTTP layer, below 500.
      const host = new URL(h.url).host;
      const huge = await rawRequest(
        h.url,
        `GET /whoami HTTP/1.1\r\nHost: ${host}\r\nCookie: ${name}=${'Q'.repeat(70_000)}\r\nConnection: close\r\n\r\n`,
      );
      expect(huge.status).toBeGreaterThanOrEqual(400);
      expect(huge.status).toBeLessThan(500);
      expect(h.probe.log).toEqual([]);
      expect((await h.req('GET', '/whoami', { cookie: pair })).json).toMatchObject({
        data: { mine: true },
      });
    });

    it('deep or non-JSON data in a request body is refused (400 by the app), never stored', async () => {
      const h = await start(adapter, storeTarget);
      let deep: unknown = 'bottom';
      for (let i = 0; i < 200; i++) deep = { d: deep };
      const reply = await h.req('POST', '/set', { json: { values: { deep } } });
      expect(reply.status).toBe(400);
      expect(reply.json).toEqual({ error: 'ERR_SESSION_DATA' });
      expect(reply.setCookies).toEqual([]);
      expect(await h.backend.dump()).not.toContain('bottom');
    });
  });
}
