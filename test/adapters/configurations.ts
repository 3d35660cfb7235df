/**
 * The configurations the adapter contract runs in, on every adapter: server-side sessions in
 * the cookie (the default), sealed-cookie sessions (`cookieStore()`), server-side sessions over
 * `Authorization: Bearer`, and the write-on-demand hybrid (`hybridStore()`: sealed while
 * anonymous, server-side once signed in). Each says how its manager is made over the suite's probe store, how a
 * client presents its credential and reads a new one, and which abilities it lacks — the suite
 * defines a test only where its claim applies, and states each lack in a test of its own.
 */

import type { SessionManagerOptions, SessionResponse } from '../../src/core/manager.js';
import type { SessionStore } from '../../src/core/store.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';

/**
 * What a configuration may lack:
 * - `cookie`: the session travels in a cookie (attributes, `Max-Age`, cookie-header parsing);
 * - `record`: a server-side record — a rotated, invalidated or destroyed anonymous session's old
 *   credential is dead at once, a write keeps the credential, store outages reach every request;
 * - `merge`: concurrent requests merge through compare-and-set (no lost update, 409 on a
 *   read-modify-write race, lock mode serializing them, flash delivered once across parallel
 *   requests);
 * - `lock`: lock mode is available at all (a configuration with a server side has it, even where
 *   its anonymous sessions are stateless and lack `merge`);
 * - `header`: the session travels in a request header, and the new token in a response header.
 */
export type Ability = 'cookie' | 'record' | 'merge' | 'lock' | 'header';

/** A response's new credential, in the shape of a parsed `Set-Cookie` line. */
export interface Credential {
  /** What to present back: `name=value` for a cookie, the bare token for a header. */
  pair: string;
  value: string;
  attributes: string[];
  /** Value of attribute `name` (case-insensitive); `''` for a flag, `undefined` if absent. */
  attribute(name: string): string | undefined;
}

/** One configuration of the contract. */
export interface Configuration {
  name: string;
  lacks: ReadonlySet<Ability>;
  /** Manager options over the suite's (probed) store. */
  manager(store: SessionStore): Partial<SessionManagerOptions>;
  /** The shape of a token this configuration issues. */
  token: RegExp;
  /** The request header responses vary on, lower case. */
  varyOn: string;
  /** Request headers that present `credential` (a {@link Credential.pair}). */
  present(credential: string): Record<string, string>;
  /** The session credentials a reply issues or expires. */
  issued(reply: { setCookies: string[]; headers: Headers }, cookieName: string): Credential[];
  /** The credential a manager's own response issues (for foreign managers). */
  fromResponse(out: SessionResponse, cookieName: string): string | undefined;
}

const SIGNED_ID = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
const SEALED = /^[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

/** The `Set-Cookie` lines of cookie `name`, parsed. */
export function cookieCredentials(setCookies: readonly string[], name: string): Credential[] {
  const out: Credential[] = [];
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== name) continue;
    out.push(credential(pair, pair.slice(eq + 1), attributes));
  }
  return out;
}

function credential(pair: string, value: string, attributes: string[]): Credential {
  return {
    pair,
    value,
    attributes,
    attribute(attr) {
      for (const a of attributes) {
        const [key = '', ...rest] = a.split('=');
        if (key.toLowerCase() === attr.toLowerCase()) return rest.join('=');
      }
      return undefined;
    },
  };
}

const inCookie = {
  varyOn: 'cookie',
  present: (pair: string) => ({ cookie: pair }),
  issued: (reply: { setCookies: string[] }, name: string) =>
    cookieCredentials(reply.setCookies, name),
  fromResponse: (out: SessionResponse) => out.setCookie[0]?.split(';')[0],
};

/** The token response header of the bearer configuration. */
const TOKEN_HEADER = 'session-token';

export const CONFIGURATIONS: readonly Configuration[] = [
  {
    name: 'server-side cookie',
    lacks: new Set(['header']),
    manager: (store) => ({ store }),
    token: SIGNED_ID,
    ...inCookie,
  },
  {
    name: 'sealed cookie',
    lacks: new Set(['record', 'merge', 'lock', 'header']),
    // The probe store is the revocation store: anonymous sealed sessions never reach it. No
    // leeway, so the suite's timeouts land to the millisecond (leeway: test/core/stateless.test.ts).
    manager: (store) => ({ store: cookieStore({ revocation: store, leeway: 0 }) }),
    token: SEALED,
    ...inCookie,
  },
  {
    name: 'bearer',
    lacks: new Set(['cookie']),
    manager: (store) => ({ store, transport: 'bearer' }),
    token: SIGNED_ID,
    varyOn: 'authorization',
    present: (token) => ({ authorization: `Bearer ${token}` }),
    issued(reply) {
      const token = reply.headers.get(TOKEN_HEADER);
      if (token === null) return [];
      // An empty token ends the session: the client drops it, as a browser drops `Max-Age=0`.
      return [credential(token, token, token === '' ? ['Max-Age=0'] : [])];
    },
    fromResponse: (out) => out.token?.[1],
  },
  {
    name: 'hybrid',
    // The suite's sessions are anonymous, so stateless: no record, no merge. Signing in moves a
    // session server-side (its cookie becomes a signed id); lock mode is there for those.
    lacks: new Set(['record', 'merge', 'header']),
    // No leeway, so the suite's timeouts land to the millisecond (as for the sealed cookie).
    manager: (store) => ({ store: hybridStore({ store, leeway: 0 }) }),
    token: new RegExp(`${SEALED.source}|${SIGNED_ID.source}`),
    ...inCookie,
  },
];
