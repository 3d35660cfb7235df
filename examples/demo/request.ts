/**
 * Small request/response helpers shared by the demo's routes (`app.ts`, `race.ts`).
 */

import type { Request, Response } from 'express';

/** The parsed body as a plain record; `{}` when there is none or it is not an object. */
export function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

/** `true` for a form post (urlencoded or multipart): such requests get a 303, not JSON. */
export function isForm(req: Request): boolean {
  return typeof req.is(['application/x-www-form-urlencoded', 'multipart/form-data']) === 'string';
}

/** `true` when the client's `Accept` prefers JSON over HTML. */
export function prefersJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json';
}

/** Send `page` as `text/html` with `status`. */
export function sendHtml(res: Response, status: number, page: string): void {
  res.status(status).type('html').send(page);
}

/** The error's own 4xx `status` (e.g. a body parser's 413), else 500. */
export function clientErrorStatus(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}
