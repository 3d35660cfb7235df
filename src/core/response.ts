/**
 * `sessionkit` — what an adapter puts on the response after a request's session ended: the
 * {@link SessionResponse} shape and {@link respond}, which computes it for server-side and sealed
 * sessions alike (`lifecycle.ts` and `stateless.ts` both end here, so neither imports the other).
 */

import type { Context } from './context.js';
import type { SessionState } from './state.js';
import type { TokenHeader } from './transport.js';

/** What an adapter puts on the response after `SessionScope.end`. */
export interface SessionResponse {
  /** `Set-Cookie` values to append. */
  setCookie: string[];
  /** Add {@link SessionResponse.varyOn} to `Vary`. */
  vary: boolean;
  /**
   * The request header responses depend on: `Cookie`, or with a header transport `Authorization`
   * or the token header.
   */
  varyOn: string;
  /**
   * With a header transport: the response header carrying the new or rotated token, or `''`
   * when the session ended (`[lower-case name, value]`); `undefined` when there is none.
   */
  token: TokenHeader | undefined;
  /** Value for `Cache-Control`, or `undefined` to leave it alone. */
  cacheControl: string | undefined;
  /** Value for `Clear-Site-Data` (after `destroy({ clearSiteData })`), or `undefined` for none. */
  clearSiteData: string | undefined;
}

/**
 * The response of a request that committed: a response that used the session or carries a token
 * varies on the transport's header and gets `cacheControl` (docs/security.md §21). @internal
 */
export function respond(
  ctx: Context,
  s: SessionState,
  setCookie: string[],
  token: TokenHeader | undefined,
): SessionResponse {
  const touched = s.accessed || setCookie.length > 0 || token !== undefined;
  return {
    setCookie,
    vary: touched,
    varyOn: ctx.transport.varyOn,
    token,
    cacheControl: touched ? ctx.cacheControl : undefined,
    clearSiteData: s.clearSiteData,
  };
}
