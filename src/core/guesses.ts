/**
 * `sessionkit` — the brute-force signal: failed guesses at a session (a forged signature, a signed
 * id without a record) counted per client address, so that one `brute-force` event is raised per
 * address and window once `threshold` guesses arrived within `window` ms.
 *
 * Memory stays bounded whatever arrives: at most `capacity` addresses are tracked, in two
 * generations, so a flood of new addresses forgets the ones that stopped guessing while an
 * attacker who keeps guessing stays in the table, at constant cost per guess. An IPv6 client is counted by its /64 — the block one subscriber line gets — so walking through
 * the addresses of its own block neither multiplies entries nor restarts the count.
 */

import { isIP } from 'node:net';
import { networkOf } from './client.js';

/** Options of the brute-force signal (the manager option `bruteForce`). */
export interface BruteForceOptions {
  /**
   * Failed guesses from one address within `window` that raise one `brute-force` event.
   * @default 20
   */
  threshold?: number;
  /**
   * Length of the counting window, in ms; the first guess of an address opens it.
   * @default 60_000
   */
  window?: number;
  /**
   * Most addresses tracked at once (at least 2). Past it, addresses that have not guessed lately
   * are forgotten first: one unseen while `capacity` others arrived is gone.
   * @default 10_000
   */
  capacity?: number;
}

/** One address's guesses in its current window. */
interface Tally {
  count: number;
  /** When the window opened (ms). */
  since: number;
}

/** The guesses of every tracked address, in a table of fixed capacity. @internal */
export class GuessCounter {
  /** Guesses in one window that raise the signal. */
  readonly threshold: number;
  /** Window length, ms. */
  readonly window: number;
  /** Most addresses per generation: half the capacity. */
  readonly #half: number;
  // Two generations instead of one LRU list: O(1) per guess without iterating a Map (whose
  // deleted slots a front-to-back eviction scan would have to skip). A new address goes into
  // `young`; when `young` is full it becomes `old` and the previous `old` is forgotten whole; an
  // address found in `old` moves back to `young`. So at most `capacity` are tracked, and an
  // address unseen while `capacity` others arrived is gone.
  #young = new Map<string, Tally>();
  #old = new Map<string, Tally>();

  constructor(options: Required<BruteForceOptions>) {
    this.threshold = options.threshold;
    this.window = options.window;
    this.#half = Math.floor(options.capacity / 2);
  }

  /** Addresses tracked now (at most the capacity). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /**
   * Count one guess from `address` (see {@link clientAddress}) at `now`. `true` exactly once per
   * address and window: when its count reaches the threshold.
   */
  add(address: string, now: number): boolean {
    let tally = this.#young.get(address);
    if (tally === undefined) {
      tally = this.#old.get(address);
      if (tally !== undefined) this.#old.delete(address);
      if (this.#young.size >= this.#half) {
        this.#old = this.#young;
        this.#young = new Map();
      }
      tally ??= { count: 0, since: now };
      this.#young.set(address, tally);
    }
    if (now - tally.since >= this.window) {
      tally.count = 0;
      tally.since = now;
    }
    tally.count += 1;
    return tally.count === this.threshold;
  }
}

/** Longest address text kept from an adapter that hands over something other than an IP. */
const MAX_ADDRESS = 64;

/** Prefix lengths a guess is counted under: a whole IPv4 address, an IPv6 /64. */
const COUNTED = { v4: 32, v6: 64 } as const;

/**
 * The address a guess is counted under: an IPv4 address as is, an IPv4-mapped IPv6 address as
 * its IPv4 address, any other IPv6 address as its /64 (`2001:db8:1:2::/64`), and anything that
 * is not an IP (an adapter's own label) cut to 64 characters. @internal
 */
export function clientAddress(ip: string): string {
  return isIP(ip) === 0 ? ip.slice(0, MAX_ADDRESS) : networkOf(ip, COUNTED);
}
