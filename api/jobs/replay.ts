// POST /api/jobs/replay: the ended jobs of a filter run again. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../lib/app/vercel.js';
