// GET /api/types: the app's job types, each with whether it is paused. Served by the one HTTP app (lib/app/sluice.ts).
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../lib/app/vercel.js';
