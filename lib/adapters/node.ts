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

/**
 * A Node.js HTTP server for a Sluice app (@hono/node-server), for long-running hosts and local
 * development. Listens on `hostname` (default 127.0.0.1: this machine only) and `port` (0: any free one).
 */
export async function serve(app: FetchApp, { port = 3000, hostname = '127.0.0.1' }: { port?: number; hostname?: string } = {}): Promise<NodeServer> {
  let server!: ServerType;
  let url = '';
  await new Promise<void>((resolve, reject) => {
    // The server's own address, not the request's Host (which any caller chooses), is where a drain's
    // hand-over goes: it carries the drain secret.
    server = serveHono({ fetch: (request) => app.fetch(request, { baseUrl: url }), port, hostname }, () => resolve());
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
