import { db } from '../lib/http/db.js';
import { route } from '../lib/http/route.js';
import { config, loggable, queueStats } from '../lib/queue/index.js';

/** GET /api/health: 200, or 503 when jobs wait too long, too many are dead or the database is down. */
export default route({
  GET: async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const { ALERT_OLDEST_PENDING_MS, ALERT_DEAD_MAX } = config();
    const stats = await queueStats(db()).catch((error) => void console.error('[health] database check failed:', loggable(error)));
    if (!stats) return res.status(503).json({ ok: false, problems: ['database unreachable'] });
    const { pending, running, dead, oldestPendingAgeMs } = stats;
    const problems = [
      ...(oldestPendingAgeMs > ALERT_OLDEST_PENDING_MS ? [`oldest pending job has waited ${oldestPendingAgeMs} ms (> ${ALERT_OLDEST_PENDING_MS})`] : []),
      ...(dead > ALERT_DEAD_MAX ? [`${dead} dead jobs (> ${ALERT_DEAD_MAX})`] : []),
    ];
    res.status(problems.length ? 503 : 200).json({ ok: !problems.length, problems, pending, running, dead, oldestPendingAgeMs });
  },
});
