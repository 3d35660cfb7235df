/**
 * `sessionkit` — the memo of the AES-GCM codec (`sealed.ts`): what the tokens this process
 * recently sealed or opened hold, so that a token presented again is not decrypted again.
 *
 * A sealed-cookie client presents the token of its last response: after a write, the token this
 * process has just sealed; between writes, the same token on every request. Opening one costs a
 * base64url decode, an AES-GCM decipher (node:crypto builds a cipher context per call) and a
 * `JSON.parse` — most of a sealed read's work. The memo keeps, per token, the plaintext it was
 * sealed from or opened to and, once read, its parsed claims and payload (frozen: requests share
 * them, and no request mutates a payload — a session's changes go to its own draft).
 *
 * It remembers only what authenticated: a token it sealed itself or one that opened. A presented
 * token is looked up by its IV (public, random per seal) and then compared whole, in constant
 * time, with the remembered one — any other token, however close, takes the full open, whose
 * AEAD check refuses it. Every check after the open (times, revocation, fingerprint) runs as
 * before: the memo caches the pure part, decryption under a fixed key ring. A token sealed for a
 * session replaces the one last sealed for it ({@link TokenMemo.sealed}). Bounded: at most
 * `capacity` entries in two generations (the older is dropped whole when the younger fills; a hit
 * in the older moves the entry back), and tokens longer than one cookie are never kept.
 */

import type { CodecLimits } from './codec.js';
import { timingSafeEqualString } from './keys.js';
import type { Unsealed } from './sealed-text.js';

/** The longest token the memo keeps: one full cookie. Longer (chunked) tokens are always opened. */
export const MEMO_MAX_TOKEN = 4096;

/** The largest `capacity` a memo accepts. */
export const MEMO_MAX_CAPACITY = 100_000;

/** What the memo keeps of one token. @internal */
export interface MemoEntry {
  /** The whole token, compared in constant time with a presented one. */
  readonly token: string;
  /** Which key of the ring sealed it (`0`: the primary). */
  readonly keyIndex: number;
  /** The plaintext (the compact text of `sealed-text.ts`). */
  readonly text: string;
  /** The text read under {@link MemoEntry.limits}, frozen; `undefined` until first needed. */
  opened: Unsealed | undefined;
  /** The limits {@link MemoEntry.opened} was read under. */
  limits: CodecLimits | undefined;
}

/** The remembered tokens of one codec, by IV. @internal */
export class TokenMemo {
  #young = new Map<string, MemoEntry>();
  #old = new Map<string, MemoEntry>();
  /** The IV of the token each session was last sealed into, since the last generation change. */
  #sealed = new Map<string, string>();
  /** Entries per generation. */
  readonly #half: number;

  /** A memo of at most `capacity` (≥ 2) tokens. */
  constructor(capacity: number) {
    this.#half = Math.max(1, Math.floor(capacity / 2));
  }

  /**
   * The entry of `token`, whose IV text is `iv`, when it is remembered: the entry under that IV
   * whose token equals `token` (compared in constant time); else `undefined`.
   */
  find(iv: string, token: string): MemoEntry | undefined {
    let entry = this.#young.get(iv);
    if (entry === undefined) {
      entry = this.#old.get(iv);
      if (entry === undefined || !timingSafeEqualString(entry.token, token)) return undefined;
      this.#old.delete(iv);
      this.#add(iv, entry); // in use: keep it past the next generation change
      return entry;
    }
    return timingSafeEqualString(entry.token, token) ? entry : undefined;
  }

  /**
   * Remember `token` (IV text `iv`), just sealed for session `sid` from plaintext `text`, and
   * forget the token that session was sealed into before (since the last generation change): a
   * client presents a superseded token only until the response carrying the new one arrives, and
   * presented again it is simply opened. So under a stream of writes the memo holds about one
   * token per active session, not `capacity` tokens that each outlive a few young-generation
   * collections (copied, then promoted and collected by a full mark-compact).
   */
  sealed(iv: string, token: string, sid: string, text: string): void {
    if (token.length > MEMO_MAX_TOKEN) return;
    const previous = this.#sealed.get(sid);
    // Always in the younger half: the generation change that moves an entry to the older one
    // also forgets whose token it was.
    if (previous !== undefined) this.#young.delete(previous);
    this.remember(iv, token, 0, text);
    this.#sealed.set(sid, iv);
  }

  /**
   * Remember `token` (IV text `iv`), sealed under key `keyIndex` from plaintext `text` — and,
   * when it was just opened, `opened`, read under `limits`. Tokens longer than
   * {@link MEMO_MAX_TOKEN} are not kept.
   */
  remember(
    iv: string,
    token: string,
    keyIndex: number,
    text: string,
    opened?: Unsealed,
    limits?: CodecLimits,
  ): void {
    if (token.length > MEMO_MAX_TOKEN) return;
    const entry: MemoEntry = { token, keyIndex, text, opened: undefined, limits: undefined };
    if (opened !== undefined) share(entry, opened, limits!);
    this.#add(iv, entry);
  }

  /** Entries kept now (both generations). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #add(iv: string, entry: MemoEntry): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
      this.#sealed = new Map();
    }
    this.#young.set(iv, entry);
  }
}

/**
 * Keep `opened` (read under `limits`) on `entry`, frozen — its claims, payload and metadata; the
 * data and flash containers are frozen by the codec — so that every request it is handed to
 * shares it read-only. Returns it. @internal
 */
export function share(entry: MemoEntry, opened: Unsealed, limits: CodecLimits): Unsealed {
  Object.freeze(opened.claims);
  Object.freeze(opened.payload.meta);
  Object.freeze(opened.payload);
  entry.opened = Object.freeze(opened);
  entry.limits = limits;
  return opened;
}
