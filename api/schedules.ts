// GET /api/schedules: the app's schedules with their next and last slots. Served by the one HTTP app (lib/app/sluice.ts).
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../lib/app/vercel.js';
