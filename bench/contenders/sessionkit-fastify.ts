/** sessionkit on Fastify 5 (`sessionPlugin`), store from `BENCH_STORE`. */

import Fastify from 'fastify';
import { portOf, serve } from './_env.js';
import { manager, sessionkit } from './_sessionkit.js';

const { getSession, sessionPlugin } =
  await sessionkit<typeof import('../../src/adapters/fastify.js')>('adapters/fastify.js');

const app = Fastify();
await app.register(sessionPlugin, { manager });
app.get('/a', async () => 'ok');
app.get('/b', async (request) => ({ name: await getSession(request, manager).get('name') }));
app.post('/c', async (request) => ({
  counter: await getSession(request, manager).update('counter', (n = 0) => n + 1),
}));
app.post('/init', async (request) => {
  getSession(request, manager).merge({ name: 'bench', counter: 0 });
  return 'ok';
});
app.get('/counter', async (request) => ({
  counter: await getSession(request, manager).get('counter'),
}));
await app.listen({ port: 0, host: '127.0.0.1' });
serve(app.server, portOf(app.server));
