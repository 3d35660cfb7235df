/**
 * Private: the request and response of a framework that swaps their prototypes (Express 4 and 5)
 * switched to V8's dictionary mode, once per request, by the middlewares that run there (the
 * Express adapter and `sessionkit/express-session`).
 *
 * Express gives every request and response its own application's prototype
 * (`Object.setPrototypeOf(req, app.request)`). V8 does not share the hidden class a property
 * added after that call produces: every request's object gets a new one (checked with
 * `%HaveSameMap` between two requests, Express 4.22 and 5.3). So every property added afterwards —
 * by Express's router, by each middleware, by the app — builds a hidden class and copies the
 * descriptor array, and every read through the object misses V8's inline caches and goes through
 * the runtime. In dictionary mode an object keeps its properties in a hash table and shares one
 * hidden class with every other dictionary-mode object of its prototype, so an add is a table
 * insert and a read hits the cache. Measured on bare Express 5 (`res.send('ok')`), the
 * switch made by a first middleware: 658 605 → 391 862 instructions per request (callgrind, 2000
 * requests after 15 000), 5 800–6 100 → 6 800–8 900 req/s (autocannon, 50 connections).
 *
 * The switch adds two properties and deletes the first — a delete of any property but the last
 * added makes V8 normalize the object — then the second. Nothing observable changes: the same
 * keys in the same order with the same descriptors. An object whose prototype is node's own
 * (plain node:http, Connect) is left alone: its hidden classes are shared, and dictionary mode
 * would make its reads slower.
 */

import { IncomingMessage, ServerResponse } from 'node:http';

const FIRST = Symbol('sessionkit.dictionary.first');
const SECOND = Symbol('sessionkit.dictionary.second');

/**
 * Switch `req` and `res` to dictionary mode when a framework swapped their prototypes (see the
 * module header); otherwise do nothing.
 */
export function toDictionaryMode(req: IncomingMessage, res: ServerResponse): void {
  if (Object.getPrototypeOf(req) !== IncomingMessage.prototype) normalize(req);
  if (Object.getPrototypeOf(res) !== ServerResponse.prototype) normalize(res);
}

function normalize(target: object): void {
  const object = target as Record<symbol, unknown>;
  object[FIRST] = undefined;
  object[SECOND] = undefined;
  delete object[FIRST];
  delete object[SECOND];
}
