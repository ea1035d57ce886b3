// GET /api/jobs/:id/events: a job's progress and end as Server-Sent Events. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../../lib/app/vercel.js';
