/**
 * Private helpers of the web-standard adapters (fetch, Hono): only `Request`, `Response` and
 * `Headers`, no `node:http`, so they run wherever those globals exist.
 */

import type { SessionResponse } from '../core/manager.js';
import { appendVary, errorResponse } from './_shared.js';

/**
 * Put a commit's headers on `response`: every `Set-Cookie` appended (never replacing the
 * handler's own), `Cookie` added to `Vary`, `Cache-Control` set. Returns `response` itself when
 * its headers are mutable, else a copy carrying the same status, headers and (unread) body:
 * `Response.redirect()`, `Response.error()` and `fetch()` results have immutable headers, where
 * any write throws a `TypeError` (Fetch standard, "Headers guard").
 */
export function withSessionHeaders(response: Response, out: SessionResponse): Response {
  if (out.setCookie.length === 0 && !out.vary && out.cacheControl === undefined) return response;
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
 * The generic error `Response` for an error that ends a request: the session error's status
 * (409, 503 + `Retry-After`, 500 for anything else), `Cache-Control: no-store`, no `Set-Cookie`,
 * and a body naming only the status (JSON when `accept` asks for it) — SECURITY.md §20, §24.
 */
export function sessionErrorResponse(error: unknown, accept: string | null): Response {
  const generic = errorResponse(error, accept ?? undefined);
  return new Response(generic.body, { status: generic.status, headers: generic.headers });
}

/** Release the body of a response that will not be sent (ignores locked or used bodies). */
export async function discard(response: Response): Promise<void> {
  if (response.body === null || response.bodyUsed || response.body.locked) return;
  await response.body.cancel().catch(() => undefined);
}

function writeHeaders(headers: Headers, out: SessionResponse): void {
  for (const line of out.setCookie) headers.append('set-cookie', line);
  if (out.vary) headers.set('vary', appendVary(headers.get('vary') ?? undefined, 'Cookie'));
  // A response that reads or sets a session must never be stored by a shared cache, whatever
  // the handler said (SECURITY.md §21); `cacheControl: false` on the manager opts out.
  if (out.cacheControl !== undefined) headers.set('cache-control', out.cacheControl);
}
