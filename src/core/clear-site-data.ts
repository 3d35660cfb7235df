/**
 * `sessionkit` — the `Clear-Site-Data` response header (W3C Clear Site Data) that
 * `session.destroy({ clearSiteData: true })` sends for logout-everywhere flows: the browser then
 * drops the site's cookies and storage, not only the session cookie. Directives are validated
 * once, when the manager is created or `destroy()` is called, and serialized as the quoted list
 * the header takes (`"cookies", "storage"`).
 */

import { ConfigError, StateError } from './errors.js';

/** A `Clear-Site-Data` directive (W3C Clear Site Data §3.1); `'*'` means all of them. */
export type ClearSiteDataType = 'cache' | 'cookies' | 'storage' | 'executionContexts' | '*';

/** What `destroy({ clearSiteData: true })` clears unless the manager says otherwise. */
export const DEFAULT_CLEAR_SITE_DATA: readonly ClearSiteDataType[] = Object.freeze([
  'cookies',
  'storage',
]);

const TYPES: readonly string[] = ['cache', 'cookies', 'storage', 'executionContexts', '*'];

/**
 * The `Clear-Site-Data` header value for `types` (`"cookies", "storage"`), or `undefined` when
 * `types` is not a non-empty array of distinct known directives (`'*'` only alone). Never throws:
 * the caller raises its own typed error naming the option.
 */
export function clearSiteDataHeader(types: unknown): string | undefined {
  if (!Array.isArray(types) || types.length === 0) return undefined;
  const seen = new Set<string>();
  for (const type of types as unknown[]) {
    if (typeof type !== 'string' || !TYPES.includes(type) || seen.has(type)) return undefined;
    seen.add(type);
  }
  if (seen.has('*') && seen.size > 1) return undefined;
  return [...seen].map((type) => `"${type}"`).join(', ');
}

/** The sentence every refusal ends with: what a valid value looks like. */
export const CLEAR_SITE_DATA_HINT: string =
  'a non-empty list of distinct directives among "cache", "cookies", "storage", "executionContexts" (or "*" alone)';

/**
 * The manager option `clearSiteData` as its header value: {@link DEFAULT_CLEAR_SITE_DATA} when
 * `undefined`. Throws `ConfigError` (`ERR_SESSION_CONFIG`) naming the option otherwise. @internal
 */
export function resolveClearSiteData(types: readonly ClearSiteDataType[] | undefined): string {
  const header = clearSiteDataHeader(types ?? DEFAULT_CLEAR_SITE_DATA);
  if (header === undefined) {
    throw new ConfigError(`Option \`clearSiteData\` must be ${CLEAR_SITE_DATA_HINT}.`);
  }
  return header;
}

/**
 * The header value `destroy({ clearSiteData })` asks for: none for `undefined`/`false`, the
 * manager's `configured` value for `true`, else the given directives. Throws `StateError`
 * (`ERR_SESSION_STATE`) for anything else, before the session is touched. @internal
 */
export function destroyHeader(value: unknown, configured: string): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return configured;
  const header = clearSiteDataHeader(value);
  if (header === undefined) {
    throw new StateError(
      `destroy({ clearSiteData }) takes true, false or ${CLEAR_SITE_DATA_HINT}.`,
    );
  }
  return header;
}
