// POST /api/types/:type/resume: the type's jobs are claimed again (and kicked). Served by the one HTTP app (lib/app/sluice.ts).
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../../lib/app/vercel.js';
