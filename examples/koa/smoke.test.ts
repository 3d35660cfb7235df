/** Smoke test of examples/koa (see examples/smoke.ts). */

import { describeExample } from '../smoke.js';
import * as example from './server.js';

describeExample('koa', example, new URL('./server.ts', import.meta.url));
