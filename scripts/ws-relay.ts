import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * A WebSocket-to-TCP relay that speaks what @neondatabase/serverless expects of Neon's proxy:
 * `ws://host:port/v2?address=pghost:pgport`, each binary message a chunk of the Postgres protocol.
 * It lets the neon driver run against any local Postgres (tests, bench, npm run dev).
 */
export async function startWsRelay(port = 0): Promise<{ port: number; proxy: string; close(): Promise<void> }> {
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://relay').searchParams.get('address') ?? '';
    const [host, portText] = address.split(':');
    const tcp = connect({ host, port: Number(portText) });
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    tcp.on('connect', () => pending.splice(0).forEach((chunk) => tcp.write(chunk)));
    socket.on('message', (data: Buffer) => (tcp.connecting ? pending.push(data) : tcp.write(data)));
    tcp.on('data', (chunk) => socket.send(chunk));
    tcp.on('close', () => socket.close());
    tcp.on('error', () => socket.close());
    socket.on('close', () => tcp.destroy());
    socket.on('error', () => tcp.destroy());
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const actual = (http.address() as { port: number }).port;
  return {
    port: actual,
    proxy: `127.0.0.1:${actual}/v2`,
    close: () =>
      new Promise<void>((resolve) => {
        wss.clients.forEach((c) => c.terminate());
        wss.close();
        http.close(() => resolve());
      }),
  };
}
