#!/usr/bin/env node
/**
 * The `sessionkit` executable (package.json `bin`). It always runs {@link main}: no entry-point
 * check, so it works through npm's bin symlink, `npx`, and a direct `node dist/cli/bin.js`.
 */

import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
