/**
 * `sessionkit` — scrubbing a backend error before it becomes a `StoreError`'s `cause`.
 *
 * A `StoreError`'s own message never includes its cause, but the cause is the driver's error and
 * is printed whole wherever an error is logged with `console.error(err)` or `util.inspect` (Hono's
 * default error handler, Fastify's logger): its message, its stack and its own properties. Drivers
 * put secrets there — ioredis keeps every command's arguments on a failed reply, so a wrong
 * password in the Redis URL ends up in `command.args` of the `HELLO … AUTH` error, and a failed
 * write carries the whole session record. The `StoreError` constructor runs {@link redactError} on
 * its cause, in place (the object, its class and its `code` stay, so `instanceof` checks and
 * duplicate-key detection keep working). A failed connection (`storeFromUrl`) knows its secrets
 * — the URL's password — and keeps only {@link redactedCopy} of the driver's error, with those
 * cut out as well. No `node:*` import: this module is web-safe.
 */

/** What a scrubbed secret is replaced with. */
export const REDACTED = '[redacted]';

// scheme://user:password@host — keep the user, drop the password (RFC 3986 §3.2.1 userinfo).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#@]*@/gi;
// password=…, secret=… in connection strings and query strings (libpq keyword/value, URLs).
const KEY_VALUE =
  /\b(pass(?:word|wd)?|pwd|secret|token|api[-_]?key|access[-_]?key|auth[-_]?token)=(?:'[^']*'|"[^"]*"|[^\s&;,'")]+)/gi;
// "password": "…" in JSON text.
const JSON_SECRET =
  /("(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/**
 * `text` without the known `secrets` (each occurrence; empty strings ignored), URL passwords and
 * `password=`/`secret=`/`token=` values. Never throws.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  const cut = secrets.reduce((t, s) => (s.length > 0 ? t.split(s).join(REDACTED) : t), text);
  return cut
    .replace(URL_CREDENTIALS, `$1:${REDACTED}@`)
    .replace(KEY_VALUE, `$1=${REDACTED}`)
    .replace(JSON_SECRET, `$1"${REDACTED}"`);
}

/** How far into nested causes and property objects the scrub goes. */
const MAX_DEPTH = 4;

/**
 * A copy of `error` safe to keep: same name, `code` (string or number) and message through
 * {@link redactText} with `secrets`, a stack of just `name: message`, and no other property (a
 * driver may attach the command it sent, password included). Anything but an `Error` becomes one
 * with its `String()` as message.
 */
export function redactedCopy(error: unknown, secrets: readonly string[]): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactText(source.message, secrets));
  copy.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') {
    Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  }
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

/**
 * Scrub `error` in place: every string own property (`message` and `stack` included) through
 * {@link redactText}; the arguments of a failed Redis command (`command.args`, which hold AUTH
 * passwords and session records) replaced by {@link REDACTED}; then the same for its `cause`,
 * an `AggregateError`'s `errors` and plain objects it holds, up to four levels deep. Properties
 * that cannot be written are left alone. Never throws; anything but an object is ignored.
 */
export function redactError(error: unknown): void {
  scrub(error, 0, new Set());
}

function scrub(value: unknown, depth: number, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || seen.has(value)) return;
  seen.add(value);
  if (!Array.isArray(value) && !isError(value) && !isPlain(value)) return; // a client, a socket…
  const target = value as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(target)) {
    let current: unknown;
    try {
      current = target[key];
    } catch {
      continue;
    }
    if (typeof current === 'string') {
      const clean = redactText(current);
      if (clean !== current) write(target, key, clean);
    } else if (key === 'command' && isCommand(current)) {
      write(
        current,
        'args',
        current.args.map(() => REDACTED),
      );
    } else {
      scrub(current, depth + 1, seen);
    }
  }
}

function isError(value: object): boolean {
  return (
    value instanceof Error ||
    (typeof (value as { stack?: unknown }).stack === 'string' && 'message' in value)
  );
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An ioredis-style `{ name, args }` command description. */
function isCommand(value: unknown): value is { name: unknown; args: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    Array.isArray((value as { args?: unknown }).args)
  );
}

function write(target: object, key: string, value: unknown): void {
  try {
    Object.defineProperty(target, key, { value });
  } catch {
    // frozen or non-configurable: leave it
  }
}
