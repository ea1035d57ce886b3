import { authorize } from '../../lib/http/auth.js';
import { db } from '../../lib/http/db.js';
import { route } from '../../lib/http/route.js';
import { queueStats } from '../../lib/queue/index.js';

/** GET /api/queue/stats: counts by status and type, and the age of the oldest due job. */
export default route({
  GET: async (req, res) => {
    authorize(req, 'ADMIN_SECRET');
    res.json(await queueStats(db()));
  },
});
