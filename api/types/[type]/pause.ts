// POST /api/types/:type/pause: drains skip the type's jobs until it is resumed. Served by the one HTTP app (lib/app/sluice.ts).
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../../lib/app/vercel.js';
