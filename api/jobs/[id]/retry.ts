import { authorize } from '../../../lib/http/auth.js';
import { parse } from '../../../lib/http/body.js';
import { db } from '../../../lib/http/db.js';
import { route } from '../../../lib/http/route.js';
import { jobIdQuery } from '../../../lib/http/schemas.js';
import { retryJob } from '../../../lib/queue/index.js';

/** POST /api/jobs/:id/retry: a dead job back to pending, due now, attempts reset (other states: 409). */
export default route({
  POST: async (req, res) => {
    authorize(req, 'ADMIN_SECRET');
    res.json(await retryJob(db(), parse(jobIdQuery, req.query).id));
  },
});
