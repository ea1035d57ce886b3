// POST /api/events { name, key?, data? }: sends an event to the jobs waiting for it. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../lib/app/vercel.js';
