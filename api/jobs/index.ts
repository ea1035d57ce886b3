import { z } from 'zod';
import { authorize } from '../../lib/http/auth.js';
import { jsonBody, parse } from '../../lib/http/body.js';
import { db } from '../../lib/http/db.js';
import { route } from '../../lib/http/route.js';
import { enqueueRequest, listJobsQuery } from '../../lib/http/schemas.js';
import { listJobs } from '../../lib/queue/index.js';

/** POST /api/jobs: enqueue one job or a bulk of up to 1,000. GET /api/jobs: the admin listing. */
export default route({
  POST: async (req, res) => {
    authorize(req, 'ENQUEUE_SECRET');
    res.status(202).json(await enqueueRequest(db(), jsonBody(req, z.unknown())));
  },
  GET: async (req, res) => {
    authorize(req, 'ADMIN_SECRET');
    res.json(await listJobs(db(), parse(listJobsQuery, req.query)));
  },
});
