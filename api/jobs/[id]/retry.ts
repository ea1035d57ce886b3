// POST /api/jobs/:id/retry: a dead job back to pending. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../../lib/app/vercel.js';
