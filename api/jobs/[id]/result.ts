// GET /api/jobs/:id/result: a job's result, waited for up to timeoutMs. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../../lib/app/vercel.js';
