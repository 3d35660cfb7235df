/**
 * The floor's session work (`floor-node.ts`, `floor-express.ts`): only what a secure server-side
 * session cannot avoid, on the backend named by `BENCH_STORE` (`_floor-stores.ts`). Both floors
 * call these with the request's `Cookie` header, so they differ only in the framework around them.
 *
 * Per request with a cookie: find the cookie, check its HMAC-SHA256 signature in constant time
 * (`timingSafeEqual`), derive the store key as SHA-256 of the id (a store dump yields no
 * cookie), one read, `JSON.parse`; on a write one compare-and-set on the record's version
 * (retried on a conflict, so the burst loses nothing). Anything malformed is an anonymous
 * request, never an error. No options, no rotation, no flash: that is the point.
 */

import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { type BenchData, SECRET, STORE } from './_env.js';
import { floorStore } from './_floor-stores.js';

const COOKIE = 'floor';
const IDLE_MS = 30 * 60_000;
/** Compare-and-set attempts before a write gives up (the burst needs ~200 at most). */
const ATTEMPTS = 1_000;
/** `<43 chars of id>.<43 chars of signature>`, both base64url. */
const VALUE_LENGTH = 87;
const KEY = Buffer.from(hkdfSync('sha256', SECRET, 'floor', 'cookie signing', 32));
const store = await floorStore(STORE);

function sign(id: string): string {
  return createHmac('sha256', KEY).update(id).digest('base64url');
}

/** The store key of the session in a `Cookie` header, or `undefined` (no, or a forged, cookie). */
export function sessionKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const at = header.indexOf(`${COOKIE}=`);
  if (at === -1 || (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';')) return undefined;
  const start = at + COOKIE.length + 1;
  const end = header.indexOf(';', start);
  const value = header.slice(start, end === -1 ? undefined : end);
  if (value.length !== VALUE_LENGTH || value[43] !== '.') return undefined;
  const id = value.slice(0, 43);
  // Both sides are 43 ASCII characters here, so the comparison itself leaks nothing.
  if (!timingSafeEqual(Buffer.from(sign(id)), Buffer.from(value.slice(44)))) return undefined;
  return createHash('sha256').update(id).digest('base64url');
}

/** The session data under `key`, or `undefined` (no session). */
export async function load(key: string | undefined): Promise<BenchData | undefined> {
  const record = key === undefined ? undefined : await store.read(key);
  return record === undefined ? undefined : (JSON.parse(record.data) as BenchData);
}

/** `counter + 1` with compare-and-set; the new counter, or `undefined` if there is no session. */
export async function increment(key: string): Promise<number | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const record = await store.read(key);
    if (record === undefined) return undefined;
    const data = JSON.parse(record.data) as BenchData;
    data.counter++;
    if (await store.cas(key, record.version, JSON.stringify(data), Date.now() + IDLE_MS)) {
      return data.counter;
    }
  }
  throw new Error('compare-and-set: too many conflicts');
}

/** Create a session `{ name: 'bench', counter: 0 }`; the `Set-Cookie` value that carries it. */
export async function create(): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  const key = createHash('sha256').update(id).digest('base64url');
  const data: BenchData = { name: 'bench', counter: 0 };
  await store.create(key, JSON.stringify(data), Date.now() + IDLE_MS);
  return `${COOKIE}=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax`;
}
