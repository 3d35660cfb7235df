/**
 * `sessionkit keygen` — fresh secrets for the `secrets` option. A pure function: the CLI's
 * command table (`cli/main.ts`) parses `--count` and prints the lines.
 */

import { generateSecret } from '../../core/keys.js';

/** Options of {@link keygen}. */
export interface KeygenOptions {
  /**
   * How many secrets to print.
   * @default 1
   */
  count?: number;
}

/**
 * Fresh secrets (32 CSPRNG bytes, base64url, 43 characters each), one per line. Throws
 * `RangeError` when `count` is not an integer from 1 to 100.
 */
export function keygen(options: KeygenOptions = {}): string[] {
  const count = options.count ?? 1;
  if (!Number.isSafeInteger(count) || count < 1 || count > 100) {
    throw new RangeError('--count must be an integer from 1 to 100.');
  }
  return Array.from({ length: count }, generateSecret);
}
