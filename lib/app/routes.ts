import { jsonBody } from '../http/body.js';
import type { RouteTable } from '../sluice.js';
import { signUp, signupSchema } from './users.js';

/** The example app's own routes, served by the same HTTP app as Sluice's. */
export const appRoutes: RouteTable = {
  /**
   * POST /api/signup { email, name }: the user and their welcome email, atomically. 202 { accepted:
   * true } for a new address and a taken one alike: the answer never says whether an address has an account.
   */
  '/api/signup': {
    POST: async (c, sluice) => {
      await signUp(sluice, await jsonBody(c.req.raw, signupSchema, { limit: sluice.settings().SLUICE_MAX_BODY_BYTES }));
      // Committed: the welcome email starts now, after the response, rather than at the next tick
      // (on Lambda the adapter's waitUntil holds the answer until the kick's Invoke is sent).
      const kicked = sluice.kick();
      c.env?.waitUntil?.(kicked);
      return c.json({ accepted: true }, 202);
    },
  },
};
