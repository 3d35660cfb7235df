/** Bare Express 5: the same routes with no session library (the baseline). */

import express from 'express';
import { portOf, serve } from './_env.js';

let counter = 0;
const app = express();
app.get('/a', (_req, res) => {
  res.send('ok');
});
app.get('/b', (_req, res) => {
  res.json({ name: 'bench' });
});
app.post('/c', (_req, res) => {
  counter++;
  res.json({ counter });
});
app.post('/init', (_req, res) => {
  res.send('ok');
});
app.get('/counter', (_req, res) => {
  res.json({ counter });
});
const server = app.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
