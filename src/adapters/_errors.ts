/**
 * Private (not exported from the package): how an error that ends a request becomes an HTTP
 * response, once, for all six adapters — a neutral `{ status, headers, body }` that each adapter
 * maps onto its framework (a node response, a Fastify reply, a Koa context, a web `Response`).
 *
 * Web-safe: no `node:*` import anywhere under this module, so the fetch and Hono adapters can use
 * it on runtimes without `node:http` (`test/adapters/web-safe.test.ts` checks the import graph).
 */

import { isSessionError } from '../core/errors.js';

/**
 * A generic error response. It never carries the error's message, stack, keys, ids or URLs: a
 * client learns only the status.
 */
export interface RenderedError {
  /** The HTTP status: the session error's own (403, 409, 503, 500), 500 for any other error. */
  status: number;
  /** Lower-case header names: `cache-control`, `content-type`, and `retry-after` on 503. */
  headers: Record<string, string>;
  /** The status's reason phrase, as text or as `{"error": "<reason>"}` JSON. */
  body: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  403: 'Forbidden',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The reason phrase of a status an error response can have; `'Error'` for any other. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

/**
 * Render an error that ends a request. A session error gives its `status`; anything else is a
 * 500. Always `Cache-Control: no-store` (an outage or conflict answer must never be cached); a 503
 * gets `Retry-After` — the lock timeout's `retryAfter` seconds, else 1. The body names only the
 * status, as JSON when `accept` mentions `json`, else as plain text. Never throws.
 */
export function renderError(error: unknown, accept: string | null | undefined): RenderedError {
  const status = isSessionError(error) ? error.status : 500;
  const reason = statusText(status);
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (status === 503) {
    const retry = (error as { retryAfter?: unknown }).retryAfter;
    headers['retry-after'] = String(typeof retry === 'number' ? retry : 1);
  }
  if (accept?.includes('json') === true) {
    headers['content-type'] = 'application/json; charset=utf-8';
    return { status, headers, body: JSON.stringify({ error: reason }) };
  }
  headers['content-type'] = 'text/plain; charset=utf-8';
  return { status, headers, body: reason };
}
