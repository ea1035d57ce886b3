import { authorize } from '../lib/http/auth.js';
import { jsonBody } from '../lib/http/body.js';
import { db } from '../lib/http/db.js';
import { drainDeadline } from '../lib/http/drain.js';
import { route } from '../lib/http/route.js';
import { jobOfType, manualDrainBody } from '../lib/http/schemas.js';
import { allJobs } from '../lib/jobs/index.js';
import { drain } from '../lib/queue/index.js';

/** POST /api/drain: a drain on demand, e.g. from an external scheduler. Body { budgetMs?, types?, maxJobs? }. */
export default route({
  POST: async (req, res) => {
    authorize(req, 'DRAIN_SECRET', 'CRON_SECRET');
    const start = Date.now();
    const { budgetMs, types, maxJobs } = jsonBody(req, manualDrainBody, { optional: true });
    types?.forEach(jobOfType); // an unknown type is a 400, not a drain that kills its jobs
    const deadline = Math.min(drainDeadline(start), budgetMs === undefined ? Infinity : start + budgetMs);
    res.json(await drain(db(), allJobs, { deadline, types, maxJobs }));
  },
});
