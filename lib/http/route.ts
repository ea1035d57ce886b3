import type { VercelRequest, VercelResponse } from '@vercel/node';
import { sendError } from './errors.js';

type Method = 'GET' | 'POST' | 'DELETE';
type Handler = (req: VercelRequest, res: VercelResponse) => Promise<unknown>;

/**
 * A Vercel function from one handler per HTTP method: other methods answer 405 with an Allow header,
 * and anything a handler throws is answered by sendError (typed errors get their 4xx, the rest 500).
 */
export function route(handlers: Partial<Record<Method, Handler>>) {
  const allowed = Object.keys(handlers).join(', ');
  return async (req: VercelRequest, res: VercelResponse): Promise<void> => {
    const handler = handlers[req.method as Method];
    if (!handler) {
      res.setHeader('Allow', allowed);
      res.status(405).json({ error: `method ${req.method} not allowed; use ${allowed}` });
      return;
    }
    try {
      await handler(req, res);
    } catch (error) {
      sendError(res, error);
    }
  };
}
