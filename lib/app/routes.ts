import { HttpError } from '../http/errors.js';
import { jsonBody } from '../http/body.js';
import type { RouteTable } from '../http/app.js';
import { EmailTakenError, signUp, signupSchema } from './users.js';

/** The example app's own routes, served by the same HTTP app as Sluice's. */
export const appRoutes: RouteTable = {
  /** POST /api/signup { email, name }: the user and their welcome email, atomically. 409 when the email is taken. */
  '/api/signup': {
    POST: async (c, sluice) => {
      const input = await jsonBody(c.req.raw, signupSchema, { limit: sluice.settings().SLUICE_MAX_BODY_BYTES });
      try {
        const { user, jobId } = await signUp(sluice, input);
        // Committed: the welcome email starts now, after the response, rather than at the next tick
        // (on Lambda the adapter's waitUntil holds the answer until the kick's Invoke is sent).
        const kicked = sluice.kick();
        c.env?.waitUntil?.(kicked);
        return c.json({ user: { id: user.id, email: user.email, name: user.name }, jobId }, 201);
      } catch (error) {
        if (error instanceof EmailTakenError) throw new HttpError(409, error.message, { code: error.code });
        throw error;
      }
    },
  },
};
