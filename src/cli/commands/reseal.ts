/**
 * `sessionkit reseal [--plaintext]` — re-encrypt every stored session under the primary secret
 * of `SESSION_SECRETS`, through the manager's `reseal()` (compare-and-set per record, so a
 * request committing at the same moment wins). Run it after adding a new primary secret, before
 * removing the old one; `--plaintext` also seals records written before `encrypt` was on.
 */

import type { ConfiguredStore } from '../../config/index.js';
import { ConfigError } from '../../core/errors.js';
import { createSessionManager, type ResealResult } from '../../core/manager.js';

/** What `reseal` did, and to which store. */
export interface ResealReport extends ResealResult {
  store: string;
}

/**
 * Reseal `store` under `secrets` (primary first). Throws `ConfigError` without secrets or for a
 * store without `ids`; rejects with `StoreError`. `onProgress` gets the records scanned so far.
 */
export async function reseal(
  store: ConfiguredStore,
  secrets: readonly string[] | undefined,
  options: { plaintext?: boolean; onProgress?: (scanned: number) => void } = {},
): Promise<ResealReport> {
  if (secrets === undefined || secrets.length === 0) {
    throw new ConfigError(
      'reseal needs SESSION_SECRETS (comma-separated, the new primary first, then the old ones).',
    );
  }
  const manager = createSessionManager({ store, secrets: [...secrets], encrypt: true });
  const result = await manager.reseal({
    plaintext: options.plaintext ?? false,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  return { store: store.description, ...result };
}

/** `Resealed 8 of 10 sessions in <store> (1 already under the primary key or gone, 1 unreadable).` */
export function formatReseal(r: ResealReport): string {
  return `Resealed ${r.resealed} of ${r.scanned} sessions in ${r.store} (${r.skipped} already under the primary key or gone, ${r.unreadable} unreadable).`;
}
