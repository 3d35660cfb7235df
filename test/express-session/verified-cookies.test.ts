/**
 * The facade's memo of verified cookies (`core/verified-ids.ts`, one per middleware): a signed
 * `s:<id>.<sig>` value that verified once is not HMAC-checked again, so everything here is about
 * what the memo must not change — a remembered cookie still names its session, any other signature
 * on a remembered id is refused and never read from the store, another middleware's secrets do not
 * inherit what this one accepted, and values too long to keep are checked every time.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { CountingStore, closeServers, cookieOf, facadeServer, type Loose } from './helpers.js';

afterEach(closeServers);

const count = (req: { session: Loose }): number => {
  req.session.n = (req.session.n ?? 0) + 1;
  return req.session.n;
};

/** `name=s%3A<id>.<sig>` with the signature's character at `at` (from the end) replaced. */
function forge(cookie: string, at: number): string {
  const decoded = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  const i = decoded.length - 1 - at;
  const swapped = decoded[i] === 'A' ? 'B' : 'A';
  const value = `${decoded.slice(0, i)}${swapped}${decoded.slice(i + 1)}`;
  return `${cookie.slice(0, cookie.indexOf('='))}=${encodeURIComponent(value)}`;
}

describe('the facade’s memo of verified cookies', () => {
  it('a cookie presented again still names its session; any other signature on its id is refused unread', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) =>
      res.end(String(count(req as never))),
    );
    const browser = s.browser();
    const first = await browser.fetch('/');
    const cookie = cookieOf(first);
    for (let n = 2; n <= 4; n++) expect((await browser.fetch('/')).body).toBe(String(n));
    for (const at of [0, 10, 42]) {
      const reads = store.calls.get;
      const answer = await s.browser().fetch('/', { headers: { cookie: forge(cookie, at) } });
      expect(answer.body).toBe('1'); // a new, anonymous session
      expect(store.calls.get).toBe(reads);
    }
    const dropped = cookie.slice(0, -3); // a shorter signature
    expect((await s.browser().fetch('/', { headers: { cookie: dropped } })).body).toBe('1');
    expect((await browser.fetch('/')).body).toBe('5'); // the real cookie still works
  });

  it('belongs to one middleware: a cookie another one’s secrets accepted is refused here', async () => {
    const store = new CountingStore();
    const handler = (req: Loose, res: { end(body: string): void }) =>
      res.end(String(count(req as never)));
    const options = { store, resave: false, saveUninitialized: false };
    const a = await facadeServer({ ...options, secret: 'secret-a' }, handler);
    const b = await facadeServer({ ...options, secret: 'secret-b' }, handler);
    const browser = a.browser();
    await browser.fetch('/');
    expect((await browser.fetch('/')).body).toBe('2'); // verified, remembered by a's memo
    const cookie = [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const reads = store.calls.get;
    expect((await b.browser().fetch('/', { headers: { cookie } })).body).toBe('1');
    expect(store.calls.get).toBe(reads);
    const rotated = await facadeServer({ ...options, secret: ['secret-b', 'secret-a'] }, handler);
    expect((await rotated.browser().fetch('/', { headers: { cookie } })).body).toBe('3');
  });

  it('ids too long to keep are checked on every request, forged ones refused', async () => {
    const store = new CountingStore();
    let next = 0;
    const s = await facadeServer(
      {
        store,
        resave: false,
        saveUninitialized: false,
        genid: () => `${'x'.repeat(300)}${next++}`,
      },
      (req, res) => res.end(String(count(req as never))),
    );
    const browser = s.browser();
    const cookie = cookieOf(await browser.fetch('/'));
    expect(decodeURIComponent(cookie)).toContain(`s:${'x'.repeat(300)}0.`);
    for (let n = 2; n <= 3; n++) expect((await browser.fetch('/')).body).toBe(String(n));
    const reads = store.calls.get;
    expect((await s.browser().fetch('/', { headers: { cookie: forge(cookie, 5) } })).body).toBe(
      '1',
    );
    expect(store.calls.get).toBe(reads);
  });
});
