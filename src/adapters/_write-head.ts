/**
 * Private, node-only: the headers of a `writeHead(status, [reason], headers)` call, set on the
 * response instead (`_hold.ts` does this at the first header byte, so that an owner's
 * `Set-Cookie`, `Vary` or `Cache-Control` is merged with them rather than replaced by them).
 */

import type { ServerResponse } from 'node:http';

/**
 * Set the headers of a `writeHead(status, [reason], headers)` call on `res` and return the call's
 * arguments without them. Headers come as an object or, as Node also takes them, a flat
 * `[name, value, name, value, …]` array (repeated names are kept as several values).
 */
export function setWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const at = typeof args[1] === 'string' ? 2 : 1;
  const headers = args[at];
  if (typeof headers !== 'object' || headers === null) return args;
  if (Array.isArray(headers)) {
    const grouped = new Map<string, unknown[]>();
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = String(headers[i]);
      grouped.set(name, [...(grouped.get(name) ?? []), headers[i + 1]]);
    }
    for (const [name, values] of grouped) {
      res.setHeader(name, values.length === 1 ? String(values[0]) : values.map(String));
    }
  } else {
    // Own enumerable string keys, as Object.entries — without its array per call and per entry.
    const record = headers as Record<string, unknown>;
    for (const name in record) {
      const value = record[name];
      if (value !== undefined && Object.hasOwn(record, name)) {
        res.setHeader(name, value as string | string[]);
      }
    }
  }
  return args.slice(0, at);
}
