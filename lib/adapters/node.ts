/** @module sluice/node */
import { serve as serveHono, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { FetchApp } from './web.js';

export interface NodeServer {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  /** Stops accepting, ends open connections, resolves once closed. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Default 3000; 0: any free port. */
  port?: number;
  /** Default 127.0.0.1: this machine only. */
  hostname?: string;
  /** Behind a reverse proxy that sets X-Real-IP or X-Forwarded-For: the throttle of wrong secrets counts
   *  clients by those headers. Default false: by the connection's address, as a client can send any header. */
  trustProxy?: boolean;
}

/**
 * A Node.js HTTP server for a Sluice app (@hono/node-server), for long-running hosts and local
 * development. Listens on `hostname` and `port`.
 */
export async function serve(app: FetchApp, { port = 3000, hostname = '127.0.0.1', trustProxy = false }: ServeOptions = {}): Promise<NodeServer> {
  let server!: ServerType;
  let url = '';
  await new Promise<void>((resolve, reject) => {
    // The server's own address, not the request's Host (which any caller chooses), is where a drain's
    // hand-over goes: it carries the drain secret.
    const fetch = (request: Request, env: { incoming?: { socket: { remoteAddress?: string } } }) =>
      app.fetch(request, { baseUrl: url, clientAddress: trustProxy ? undefined : env.incoming?.socket.remoteAddress });
    server = serveHono({ fetch, port, hostname }, () => resolve());
    server.once('error', reject);
  });
  const actual = (server.address() as AddressInfo).port;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  url = `http://${host}:${actual}`;
  return {
    url,
    port: actual,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    }),
  };
}
