import type { Context } from 'hono';
import { isIP } from 'node:net';
import type { SluiceEnv } from './app.js';

// Who a request comes from, for the throttle of wrong secrets (throttle.ts).

/**
 * IPv4 as it is; IPv6 by its /64, which one host or customer holds whole (counting single addresses
 * would give each attacker 2^64 fresh ones); an IPv4 address mapped into IPv6 as IPv4; else null.
 */
export function addressKey(raw: string | undefined): string | null {
  const ip = raw?.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '') ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) === 4) return ip;
  if (isIP(ip) !== 6) return null;
  const [head = '', tail] = ip.split('::');
  const [h, t] = [head, tail ?? ''].map((part) => (part ? part.split(':') : []));
  // "::" stands for the zero groups the others leave of eight (an IPv4 tail, a.b.c.d, is two of them).
  const zeros = tail === undefined ? 0 : 8 - h!.length - t!.length - (t!.at(-1)?.includes('.') ? 1 : 0);
  const groups = [...h!, ...Array<string>(zeros).fill('0'), ...t!];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * The client's address, as the platform knows it: the adapter's own (a Node socket, Lambda's
 * sourceIp), else X-Real-IP, else the first hop of X-Forwarded-For, which Vercel sets itself (a
 * client's own value is dropped). A request with none of them counts under "unknown".
 */
export function clientAddress(c: Context<SluiceEnv>): string {
  const forwarded = c.req.header('x-forwarded-for')?.split(',')[0];
  for (const raw of [c.env?.clientAddress, c.req.header('x-real-ip'), forwarded]) {
    const key = addressKey(raw);
    if (key) return key;
  }
  return 'unknown';
}
