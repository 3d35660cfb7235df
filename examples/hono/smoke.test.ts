/** Smoke test of examples/hono (see examples/smoke.ts). */

import { describeExample } from '../smoke.js';
import * as example from './server.js';

describeExample('hono', example, new URL('./server.ts', import.meta.url));
