// /api/dashboard and everything under it (vercel.json rewrites /api/dashboard/:path* here, keeping the
// path): the operator's page, its assets, data and actions. Served by the one HTTP app, which routes by path.
export { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../lib/app/vercel.js';
