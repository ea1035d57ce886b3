import { authorize } from '../../lib/http/auth.js';
import { db } from '../../lib/http/db.js';
import { drainDeadline } from '../../lib/http/drain.js';
import { route } from '../../lib/http/route.js';
import { allJobs } from '../../lib/jobs/index.js';
import { drain } from '../../lib/queue/index.js';

/** GET /api/cron/drain: Vercel Cron's target. Drains until the invocation's deadline, less a margin. */
export default route({
  GET: async (req, res) => {
    authorize(req, 'CRON_SECRET');
    res.json(await drain(db(), allJobs, { deadline: drainDeadline() }));
  },
});
