/**
 * A tiny node:http ↔ fetch bridge for tests, standing in for Bun.serve / Deno.serve: the handler
 * gets a real `Request` (body streamed) and its `Response` (status, every header incl. repeated
 * Set-Cookie, streamed body) goes out over real HTTP. A rejected handler is a bare 500, as a
 * runtime would answer. {@link remoteAddress} gives a handler the socket's address, as
 * `server.requestIP(request)` does on Bun.
 */

import http from 'node:http';
import { Readable } from 'node:stream';
import { type AdapterServer, listen } from '../adapters/contract.js';

const ADDRESSES = new WeakMap<Request, string>();

/** The peer address of the connection a request served by {@link serveFetch} came on. */
export function remoteAddress(request: Request): string | undefined {
  return ADDRESSES.get(request);
}

/** Serve a fetch-style handler on 127.0.0.1:0. */
export function serveFetch(
  handler: (request: Request) => Promise<Response>,
): Promise<AdapterServer> {
  return listen(
    http.createServer((req, res) => {
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method ?? 'GET',
        headers,
        body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
        duplex: 'half',
      } as RequestInit);
      if (req.socket.remoteAddress !== undefined) {
        ADDRESSES.set(request, req.socket.remoteAddress);
      }
      handler(request).then(
        (response) => {
          res.statusCode = response.status;
          response.headers.forEach((value, name) => {
            if (name !== 'set-cookie') res.setHeader(name, value);
          });
          const cookies = response.headers.getSetCookie();
          if (cookies.length > 0) res.setHeader('set-cookie', cookies);
          if (response.body === null) res.end();
          else Readable.fromWeb(response.body as never).pipe(res);
        },
        () => {
          res.statusCode = 500;
          res.end('Internal Server Error');
        },
      );
    }),
  );
}
