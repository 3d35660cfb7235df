/**
 * A TCP proxy the outage tests control: listens on 127.0.0.1:0 and forwards to a real server.
 * `cut()` destroys every open connection and refuses new ones (a server gone away);
 * `restore()` lets connections through again.
 */

import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to. */
  port: number;
  /** Connections accepted so far (each new client connection counts once). */
  readonly accepted: number;
  /** Destroy every connection and refuse new ones until {@link restore}. */
  cut(): void;
  /** Accept and forward connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Start a proxy to `host:port` (only 127.0.0.1 targets are used by the tests). */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  let accepted = 0;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const proxy: TcpProxy = {
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** `url` (a redis:// or postgres:// server URL) pointed at `proxy` on 127.0.0.1 instead. */
export function proxiedUrl(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
