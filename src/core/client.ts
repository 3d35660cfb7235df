/**
 * `sessionkit` — what the core keeps of a request's client, and how it compares it.
 *
 * Fingerprint binding (docs/security.md §23): addresses are normalized before they are compared —
 * an IPv4-mapped IPv6 address is its IPv4 address, IPv6 is lowercased and compressed, a zone is
 * dropped — then reduced to their network under the configured prefix, and compared as keyed
 * hashes (the `fingerprint` subkey) in constant time. An absent `User-Agent` is a value of its
 * own: a session created without one is bound to its absence. The hashes are recorded in
 * `meta.fingerprint` at creation and login; a record without them (older, or made with other
 * settings) is compared through its recorded ip and user agent.
 *
 * Device data: with `deviceInfo: 'minimal'` the record keeps only what a "your devices" page
 * shows — the network of the address and the browser family — instead of the raw values.
 */

import { isIP, SocketAddress } from 'node:net';
import type { SessionMeta } from './codec.js';
import type { Context } from './context.js';

/** A request's client as the adapter reported it. */
export interface ClientInfo {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** Fingerprint settings after resolution (`options.ts`). @internal */
export interface ResolvedFingerprint {
  /** Prefix lengths the address is bound to, or `undefined` when the address is not compared. */
  ip: { readonly v4: number; readonly v6: number } | undefined;
  userAgent: boolean;
  policy: 'flag' | 'destroy';
}

/** What a session records of its client at creation and login. @internal */
export type ClientMeta = Pick<SessionMeta, 'ip' | 'userAgent' | 'fingerprint'>;

/** Prefix lengths the device summary truncates addresses to (`deviceInfo: 'minimal'`). */
const DEVICE_PREFIX = { v4: 24, v6: 48 } as const;
/** Input of the user-agent hash when the request had no `User-Agent` header. */
const NO_USER_AGENT = '\u0000absent';
/** Input of the address hash when the adapter reported no address. */
const NO_IP = '\u0000absent';

/** The record's view of `client`: device data (full or minimal) and the fingerprint hashes. @internal */
export function clientMeta(ctx: Context, client: ClientInfo): ClientMeta {
  const { ip, userAgent } = client;
  const fingerprint =
    ctx.fingerprint === undefined ? null : fingerprintOf(ctx, ctx.fingerprint, client);
  if (ctx.deviceInfo === 'full') return { ip, userAgent, fingerprint };
  return {
    ip: ip === null ? null : networkOf(ip, DEVICE_PREFIX, true),
    userAgent: userAgent === null ? null : userAgentFamily(userAgent),
    fingerprint,
  };
}

/**
 * `true` when the request's client matches what the session recorded, or binding is off: each
 * bound part is compared as a keyed hash, in constant time, against the recorded hash of the
 * same settings — or, when the record has none, against its recorded ip / user agent. @internal
 */
export function fingerprintMatches(ctx: Context, meta: SessionMeta, client: ClientInfo): boolean {
  const fp = ctx.fingerprint;
  if (fp === undefined) return true;
  const recorded = parseFingerprint(meta.fingerprint);
  const same = (part: string, seen: string, fallback: string): boolean => {
    const mac = recorded.get(part) ?? ctx.keys.sign('fingerprint', fallback);
    return ctx.keys.verify('fingerprint', seen, mac);
  };
  // Both parts are compared whatever the first says, so timing shows no more than the result.
  const ip =
    fp.ip === undefined || same(ipPart(fp.ip), ipInput(client.ip, fp.ip), ipInput(meta.ip, fp.ip));
  const userAgent = !fp.userAgent || same('ua', uaInput(client.userAgent), uaInput(meta.userAgent));
  return ip && userAgent;
}

/**
 * Canonical text of an IP address — IPv4 dotted, IPv6 lowercase and compressed without a zone,
 * an IPv4-mapped IPv6 address as its IPv4 address — or `undefined` when `ip` is not one.
 */
export function normalizeIp(ip: string): string | undefined {
  const bytes = ipBytes(ip);
  return bytes === undefined ? undefined : formatIp(bytes);
}

/**
 * The network of `ip` under `prefix` (`203.0.113.0/24`, `2001:db8:1:2::/64`); the normalized
 * address itself at full length unless `showFull`. Not an address: `ip` unchanged.
 */
export function networkOf(
  ip: string,
  prefix: { readonly v4: number; readonly v6: number },
  showFull = false,
): string {
  const bytes = ipBytes(ip);
  if (bytes === undefined) return ip;
  const bits = bytes.length === 4 ? prefix.v4 : prefix.v6;
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  const text = formatIp(bytes);
  return bits === bytes.length * 8 && !showFull ? text : `${text}/${bits}`;
}

/**
 * The browser family and operating system of a `User-Agent` (`'Firefox on Windows'`,
 * `'Safari on iOS'`, `'curl'`), or `'Other'`: what a "your devices" page shows.
 */
export function userAgentFamily(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser === undefined) return system === undefined ? 'Other' : `Other on ${system}`;
  return system === undefined ? browser : `${browser} on ${system}`;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/bot\b|crawler|spider/i, 'Bot'],
];
const SYSTEMS: readonly (readonly [RegExp, string])[] = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMacintosh\b|\bMac OS X\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** `meta.fingerprint`: `<part>=<mac>` pairs joined by `;` (`ip/24/64=…;ua=…`). */
function fingerprintOf(ctx: Context, fp: ResolvedFingerprint, client: ClientInfo): string {
  const parts: string[] = [];
  if (fp.ip !== undefined) {
    parts.push(`${ipPart(fp.ip)}=${ctx.keys.sign('fingerprint', ipInput(client.ip, fp.ip))}`);
  }
  if (fp.userAgent) parts.push(`ua=${ctx.keys.sign('fingerprint', uaInput(client.userAgent))}`);
  return parts.join(';');
}

function parseFingerprint(text: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0) out.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return out;
}

/** The part name of an address hash: the settings it was made under. */
function ipPart(prefix: { readonly v4: number; readonly v6: number }): string {
  return `ip/${prefix.v4}/${prefix.v6}`;
}

function ipInput(ip: string | null, prefix: { readonly v4: number; readonly v6: number }): string {
  return ip === null ? NO_IP : `ip:${networkOf(ip, prefix)}`;
}

function uaInput(userAgent: string | null): string {
  return userAgent === null ? NO_USER_AGENT : `ua:${userAgent}`;
}

/** The bytes of an IPv4 (4) or IPv6 (16) address; an IPv4-mapped IPv6 address gives 4. */
function ipBytes(ip: string): number[] | undefined {
  const family = isIP(ip);
  if (family === 4) return ip.split('.').map(Number);
  if (family !== 6) return undefined;
  // SocketAddress lowercases, compresses and drops a zone; a dotted IPv4 tail stays dotted.
  const text = new SocketAddress({ address: ip, family: 'ipv6' }).address;
  const [head = '', tail] = text.split('::');
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  const mapped =
    bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new SocketAddress({ address: words.join(':'), family: 'ipv6' }).address;
}
