/** Smoke test of examples/fetch (see examples/smoke.ts). */

import { describeExample } from '../smoke.js';
import * as example from './server.js';

describeExample('fetch', example, new URL('./server.ts', import.meta.url));
