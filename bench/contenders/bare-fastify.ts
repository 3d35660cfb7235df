/** Bare Fastify 5: the same routes with no session library (the baseline). */

import Fastify from 'fastify';
import { portOf, serve } from './_env.js';

let counter = 0;
const app = Fastify();
app.get('/a', async () => 'ok');
app.get('/b', async () => ({ name: 'bench' }));
app.post('/c', async () => ({ counter: ++counter }));
app.post('/init', async () => 'ok');
app.get('/counter', async () => ({ counter }));
await app.listen({ port: 0, host: '127.0.0.1' });
serve(app.server, portOf(app.server));
