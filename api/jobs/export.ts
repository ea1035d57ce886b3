// GET /api/jobs/export: the jobs of a filter as JSON lines. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../lib/app/vercel.js';
