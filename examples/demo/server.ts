/**
 * Entry point of the demo (`npm start`). Environment:
 *
 * - `SESSION_STORE`: a store URL for `sessionkit/config` — `sqlite:./data/sessions.db` (default),
 *   `file:./var/sessions`, `memory:`, `redis://127.0.0.1:6379`, `postgres://user@host/db`,
 *   `mysql://user@host/db`, `tiered:redis://…+postgres://…` (SQL stores run `migrate()` at
 *   start), `cookie:` or `cookie:<store-url>` (sealed cookies; the store, if any, holds
 *   revocations); the syntax is in `docs/operations.md`
 * - `SESSION_SECRET`: cookie-signing secret (32+ random bytes); when unset, one is generated
 *   once and kept in `./data/.session-secret` (mode 0600) so restarts keep sessions
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1)
 * - `NODE_ENV=production`: secure cookies (HTTPS only); otherwise plain-http localhost mode
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ConfiguredStore, STORE_URL_SYNTAX, storeFromUrl } from '../../src/config/index.js';
import { isSessionError } from '../../src/core/errors.js';
import { generateSecret } from '../../src/index.js';
import { createDemoApp, listen } from './app.js';
import { DEMO_PASSWORD, DEMO_USERS } from './pages.js';

/** The store URL used when `SESSION_STORE` is unset or empty. */
const DEFAULT_STORE_URL = 'sqlite:./data/sessions.db';

const DATA_DIR = resolve('data');
const SECRET_FILE = resolve(DATA_DIR, '.session-secret');

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail(`PORT must be a port number, got "${process.env.PORT}".`);
  }
  const host = process.env.HOST ?? '127.0.0.1';
  const production = process.env.NODE_ENV === 'production';

  let store: ConfiguredStore;
  try {
    const url = process.env.SESSION_STORE?.trim() || DEFAULT_STORE_URL;
    store = await storeFromUrl(url, { migrate: true });
  } catch (error) {
    // A bad URL, a missing client package, an unreachable server: one line, never a password.
    if (isSessionError(error)) fail(`SESSION_STORE: ${error.message}`);
    throw error;
  }

  const secret = await loadSecret();
  let demo: ReturnType<typeof createDemoApp>;
  try {
    demo = createDemoApp({ store, secrets: secret, secureCookies: production });
  } catch (error) {
    if (isSessionError(error, 'ERR_SESSION_CONFIG')) fail(error.message);
    throw error;
  }
  const running = await listen(demo.app, port, host);

  console.log(`sessionkit demo on ${running.url}  (store: ${store.description})`);
  console.log(`  demo accounts: ${DEMO_USERS.join(', ')} — password "${DEMO_PASSWORD}"`);
  console.log(`  SESSION_STORE switches the store: ${STORE_URL_SYNTAX}`);
  if (production) {
    console.log('  NODE_ENV=production: secure cookies, so serve it over HTTPS (behind a proxy).');
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    running
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** `SESSION_SECRET`, else the secret kept in `./data/.session-secret` (created once, 0600). */
async function loadSecret(): Promise<string> {
  const fromEnv = process.env.SESSION_SECRET;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  await mkdir(DATA_DIR, { recursive: true, mode: 0o700 });
  try {
    // `wx`: never overwrite a secret another process created first.
    writeFileSync(SECRET_FILE, `${generateSecret()}\n`, { mode: 0o600, flag: 'wx' });
    console.log(`Generated a session secret in ${SECRET_FILE} (set SESSION_SECRET to override).`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(SECRET_FILE, 'utf8').trim();
}

function fail(message: string): never {
  console.error(`sessionkit demo: ${message}`);
  process.exit(1);
}

main().catch((error: unknown) => {
  console.error('sessionkit demo failed to start:', error);
  process.exit(1);
});
