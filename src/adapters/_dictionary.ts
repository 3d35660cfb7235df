/**
 * Private: the request and response of a framework that swaps their prototypes (Express 4 and 5)
 * switched to V8's dictionary mode, once per request, by the middlewares that run there (the
 * Express adapter and `sessionkit/express-session`).
 *
 * Express gives every request and response its own application's prototype
 * (`Object.setPrototypeOf(req, app.request)`). V8 does not share the hidden class a property
 * added after that call produces: every request's object gets a new one (checked with
 * `%HaveSameMap` between two requests, Express 4.22 and 5.3, Node 20 and 22). So every property added afterwards —
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
 * would make its reads slower. So is every object on V8 13 and later (Node 24), which shares the
 * hidden classes of objects whose prototype was set ({@link UNSHARED_AFTER_SET_PROTOTYPE}).
 */

import { IncomingMessage, ServerResponse } from 'node:http';

const FIRST = Symbol('sessionkit.dictionary.first');
const SECOND = Symbol('sessionkit.dictionary.second');

/**
 * Whether this V8 gives an object's later properties hidden classes of their own after
 * `Object.setPrototypeOf`: observed on V8 11.3 (Node 20) and 12.4 (Node 22); V8 13.6 (Node 24)
 * shares them — there bare Express's requests share hidden classes, and the switch would only
 * make their reads slower.
 */
export const UNSHARED_AFTER_SET_PROTOTYPE: boolean = Number(process.versions.v8.split('.')[0]) < 13;

/**
 * Switch `req` and `res` to dictionary mode when a framework swapped their prototypes on a V8 that
 * then shares no hidden classes (see the module header); otherwise do nothing.
 */
export function toDictionaryMode(req: IncomingMessage, res: ServerResponse): void {
  if (!UNSHARED_AFTER_SET_PROTOTYPE) return;
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
