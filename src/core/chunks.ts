/**
 * `sessionkit` — the sealed cookie's two shapes: one cookie `name=<token>` while the whole
 * `Set-Cookie` line fits in 4096 bytes (RFC 6265 §6.1 counts name, value and attributes), else
 * `name.0`…`name.3`, each line within the same budget, joined in index order. There is no count
 * cookie: the chunks present from `.0` on, without a gap, are the token. Both shapes are always
 * read; writing one shape expires whatever the request presented of the other, and chunks past
 * the new count, so a session that shrinks leaves no stale chunk behind.
 */

import { forEachCookie, MAX_COOKIE_BYTES, type ResolvedCookieOptions } from './cookie.js';
import { cookieLine } from './set-cookie.js';

/** Most cookies one sealed session may span. */
export const MAX_CHUNKS = 4;

/** Bit of {@link PresentedCookie.presented} for the single-cookie shape (`name`). */
const SINGLE = 1 << MAX_CHUNKS;

/** The bits of {@link PresentedCookie.presented} for the chunk names `name.0`…`name.3`. */
export const CHUNK_NAMES: number = SINGLE - 1;

/** The sealed cookie as a request presented it. @internal */
export interface PresentedCookie {
  /** Candidate tokens, unverified: each `name` value, then the joined chunks when complete. */
  readonly tokens: string[];
  /** Names presented: bit `i` for `name.i`, bit 4 for `name`. */
  readonly presented: number;
  /** The last of {@link tokens} is the chunks joined (not a `name` value). */
  readonly joined: boolean;
}

/** The cookie options of the single cookie and of each chunk, made once per manager. @internal */
export interface ChunkCookies {
  readonly single: ResolvedCookieOptions;
  /** `name.0`…`name.3`. */
  readonly chunks: readonly ResolvedCookieOptions[];
}

/** The cookie options of every name the sealed cookie may use. @internal */
export function chunkCookies(cookie: ResolvedCookieOptions): ChunkCookies {
  return {
    single: cookie,
    chunks: Array.from({ length: MAX_CHUNKS }, (_, i) => ({
      ...cookie,
      name: `${cookie.name}.${i}`,
    })),
  };
}

const EMPTY: PresentedCookie = Object.freeze({
  tokens: Object.freeze([]) as unknown as string[],
  presented: 0,
  joined: false,
});

/**
 * Read the sealed cookie of `name` from a `Cookie` header. A value longer than 4096 characters
 * is ignored; a chunk name presented twice, or chunks with a gap, give no chunked candidate (so
 * no number of crafted cookies makes the server try more than one join). `name.4` and beyond are
 * ignored. Never throws; no crypto. @internal
 */
export function readSealedCookie(
  header: string | readonly string[] | undefined,
  name: string,
): PresentedCookie {
  if (header === undefined) return EMPTY;
  const tokens: string[] = [];
  const chunks: string[] = [];
  let presented = 0;
  let repeated = false;
  forEachCookie(header, name, (key, value) => {
    let bit: number;
    if (key.length === name.length) bit = SINGLE;
    else if (key.length === name.length + 2 && key[name.length] === '.') {
      const index = key.charCodeAt(name.length + 1) - 48;
      if (index < 0 || index >= MAX_CHUNKS) return;
      bit = 1 << index;
      if ((presented & bit) !== 0) repeated = true;
      chunks[index] = value;
    } else return;
    presented |= bit;
    if (bit === SINGLE && value.length <= MAX_COOKIE_BYTES) tokens.push(value);
  });
  const mask = presented & (SINGLE - 1);
  let joined = false;
  // Complete chunks are `.0` … `.n-1` with no gap: the mask is 2^n - 1.
  if (mask !== 0 && !repeated && (mask & (mask + 1)) === 0) {
    const parts = chunks.slice(0, 32 - Math.clz32(mask));
    joined = parts.every((part) => part.length <= MAX_COOKIE_BYTES);
    if (joined) tokens.push(parts.join(''));
  }
  return presented === 0 ? EMPTY : { tokens, presented, joined };
}

/**
 * The `Set-Cookie` lines that store `token` (`maxAge` in ms, as for `serializeCookie`), and
 * expire what the request presented but the new shape does not use. Returns the size the token
 * would need (bytes, all chunks) instead when it does not fit in `maxChunks` cookies. `token`
 * is a codec's output — base64url parts and key ids of the same alphabet joined by `.` — so
 * its characters are not checked again here; the lengths are. @internal
 */
export function sealedCookieLines(
  names: ChunkCookies,
  token: string,
  maxAge: number | undefined,
  now: number,
  maxChunks: number,
  presented: number,
): string[] | { size: number; limit: number } {
  // One serialization when the token fits in one cookie (the usual case): the line is measured
  // as it is. Names and tokens are ASCII, so lengths are bytes.
  if (names.single.name.length + 1 + token.length <= MAX_COOKIE_BYTES) {
    const line = cookieLine(names.single, token, maxAge, now);
    if (line.length <= MAX_COOKIE_BYTES) {
      const lines = [line];
      expire(names, presented & (SINGLE - 1), lines, now);
      return lines;
    }
  }
  // Every chunk name has the same length, so every chunk line has the same overhead.
  const capacity = MAX_COOKIE_BYTES - cookieLine(names.chunks[0]!, '', maxAge, now).length;
  const count = Math.ceil(token.length / capacity);
  if (count > maxChunks) return { size: token.length, limit: capacity * maxChunks };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      cookieLine(names.chunks[i]!, token.slice(i * capacity, (i + 1) * capacity), maxAge, now),
    );
  }
  // Chunks past the new count, and the single cookie, are stale now.
  expire(names, presented & ~((1 << count) - 1), lines, now);
  return lines;
}

/** The `Set-Cookie` lines that expire every name in `presented`. @internal */
export function expiredCookieLines(names: ChunkCookies, presented: number, now: number): string[] {
  const lines: string[] = [];
  expire(names, presented, lines, now);
  return lines;
}

function expire(names: ChunkCookies, presented: number, lines: string[], now: number): void {
  for (let i = 0; i < MAX_CHUNKS; i++) {
    if ((presented & (1 << i)) !== 0) lines.push(cookieLine(names.chunks[i]!, '', 0, now));
  }
  if ((presented & SINGLE) !== 0) lines.push(cookieLine(names.single, '', 0, now));
}
