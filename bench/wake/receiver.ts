import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock.js';

/**
 * A local stand-in for the email API: send-welcome-email POSTs { to, subject, text } to
 * EMAIL_WEBHOOK_URL. The moment its request line arrives is the job's start as seen from outside;
 * the body's `to` says which job it was. Answers 200, so the job succeeds and its row goes.
 */
export async function startReceiver(clock: Clock) {
  const server = createServer((req, res) => {
    const at = performance.now();
    let body = '';
    req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    req.on('end', () => {
      try { clock.hit((JSON.parse(body) as { to: string }).to, at); } catch { /* not ours */ }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/email`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
