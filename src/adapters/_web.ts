/**
 * Private (not exported from the package): helpers of the web-standard adapters (fetch, Hono).
 * Only `Request`, `Response` and `Headers`, no `node:*` import anywhere under this module, so
 * they run wherever those globals exist (`test/adapters/web-safe.test.ts` checks the import
 * graph). `appendVary` is shared with the node-style adapters.
 */

import type { SessionResponse } from '../core/manager.js';
import { renderError } from './_errors.js';

/**
 * Append `token` to a comma-separated header value (`Vary`) unless it is already listed or the
 * value is `*`. An absent or blank value becomes `token`.
 */
export function appendVary(current: string | undefined, token: string): string {
  if (current === undefined || current.trim() === '') return token;
  const parts = current.split(',').map((p) => p.trim().toLowerCase());
  if (parts.includes('*') || parts.includes(token.toLowerCase())) return current;
  return `${current}, ${token}`;
}

/**
 * Put a commit's headers on `response`: every `Set-Cookie` appended (never replacing the
 * handler's own), `Cookie` added to `Vary`, `Cache-Control` and `Clear-Site-Data` set. Returns `response` itself when
 * its headers are mutable, else a copy carrying the same status, headers and (unread) body:
 * `Response.redirect()`, `Response.error()` and `fetch()` results have immutable headers, where
 * any write throws a `TypeError` (Fetch standard, "Headers guard").
 */
export function withSessionHeaders(response: Response, out: SessionResponse): Response {
  if (
    out.setCookie.length === 0 &&
    !out.vary &&
    out.cacheControl === undefined &&
    out.clearSiteData === undefined &&
    out.token === undefined
  ) {
    return response;
  }
  try {
    writeHeaders(response.headers, out);
    return response;
  } catch (error) {
    // The first write threw, so nothing was changed: redo it on a mutable copy.
    if (!(error instanceof TypeError)) throw error;
  }
  const copy = new Response(response.body, response);
  writeHeaders(copy.headers, out);
  return copy;
}

/**
 * The generic error `Response` for an error that ends a request ({@link renderError}): the
 * session error's status (409, 503 + `Retry-After`, 500 for anything else), `Cache-Control:
 * no-store`, no `Set-Cookie`, and a body naming only the status (JSON when `accept` asks for it).
 */
export function errorResponse(error: unknown, accept: string | null): Response {
  const { status, headers, body } = renderError(error, accept);
  return new Response(body, { status, headers });
}

/** Release the body of a response that will not be sent (ignores locked or used bodies). */
export async function discard(response: Response): Promise<void> {
  if (response.body === null || response.bodyUsed || response.body.locked) return;
  await response.body.cancel().catch(() => undefined);
}

function writeHeaders(headers: Headers, out: SessionResponse): void {
  for (const line of out.setCookie) headers.append('set-cookie', line);
  if (out.vary) headers.set('vary', appendVary(headers.get('vary') ?? undefined, out.varyOn));
  if (out.token !== undefined) headers.set(out.token[0], out.token[1]);
  // A response that reads or sets a session must never be stored by a shared cache, whatever
  // the handler said; `cacheControl: false` on the manager opts out.
  if (out.cacheControl !== undefined) headers.set('cache-control', out.cacheControl);
  if (out.clearSiteData !== undefined) headers.set('clear-site-data', out.clearSiteData);
}
