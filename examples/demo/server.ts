/**
 * Entry point of the demo (`npm start`). Environment:
 *
 * - `SESSION_STORE`: `sqlite:./data/sessions.db` (default), `file:./var/sessions`, `memory:`,
 *   `redis://127.0.0.1:6379`, `postgres://user@host/db`, `mysql://user@host/db`, or
 *   `tiered:redis://…+postgres://…` (SQL stores run `migrate()` at start)
 * - `SESSION_SECRET`: cookie-signing secret (32+ random bytes); when unset, one is generated
 *   once and kept in `./data/.session-secret` (mode 0600) so restarts keep sessions
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1)
 * - `NODE_ENV=production`: secure cookies (HTTPS only); otherwise plain-http localhost mode
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isSessionError } from '../../src/core/errors.js';
import { generateSecret } from '../../src/index.js';
import { createDemoApp, listen } from './app.js';
import { DEMO_PASSWORD, DEMO_USERS } from './pages.js';
import {
  connectStore,
  type OpenedStore,
  parseStoreUrl,
  StoreConnectError,
  StoreUrlError,
  SUPPORTED,
} from './store-from-url.js';

const DATA_DIR = resolve('data');
const SECRET_FILE = resolve(DATA_DIR, '.session-secret');

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail(`PORT must be a port number, got "${process.env.PORT}".`);
  }
  const host = process.env.HOST ?? '127.0.0.1';
  const production = process.env.NODE_ENV === 'production';

  let opened: OpenedStore;
  try {
    opened = await connectStore(parseStoreUrl(process.env.SESSION_STORE));
  } catch (error) {
    if (error instanceof StoreUrlError) fail(error.message);
    if (error instanceof StoreConnectError) fail(error.message);
    throw error;
  }

  const secret = await loadSecret();
  let demo: ReturnType<typeof createDemoApp>;
  try {
    demo = createDemoApp({ store: opened.store, secrets: secret, secureCookies: production });
  } catch (error) {
    if (isSessionError(error, 'ERR_SESSION_CONFIG')) fail(error.message);
    throw error;
  }
  const running = await listen(demo.app, port, host);

  console.log(`sessionkit demo on ${running.url}  (store: ${opened.description})`);
  console.log(`  demo accounts: ${DEMO_USERS.join(', ')} — password "${DEMO_PASSWORD}"`);
  console.log(`  SESSION_STORE switches the store: ${SUPPORTED}`);
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
      .then(() => opened.close())
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
