// POST /api/dead/retry { type? }: every dead job (of a type) at once. Served by the one HTTP app (lib/app/sluice.ts), which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../../lib/app/vercel.js';
