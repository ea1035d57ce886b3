import { authorize } from '../../lib/http/auth.js';
import { parse } from '../../lib/http/body.js';
import { db } from '../../lib/http/db.js';
import { route } from '../../lib/http/route.js';
import { jobIdQuery } from '../../lib/http/schemas.js';
import { cancelJob, getJob } from '../../lib/queue/index.js';

/** GET /api/jobs/:id: one job. DELETE /api/jobs/:id: cancel a pending or dead job (running: 409). */
export default route({
  GET: async (req, res) => {
    authorize(req, 'ADMIN_SECRET');
    res.json(await getJob(db(), parse(jobIdQuery, req.query).id));
  },
  DELETE: async (req, res) => {
    authorize(req, 'ADMIN_SECRET');
    res.json({ cancelled: await cancelJob(db(), parse(jobIdQuery, req.query).id) });
  },
});
