/** Smoke test of examples/fastify (see examples/smoke.ts). */

import { describeExample } from '../smoke.js';
import * as example from './server.js';

describeExample('fastify', example, new URL('./server.ts', import.meta.url));
