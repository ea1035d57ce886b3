import { nextHandlers } from 'sluice/next';
import { sluice } from '@/lib/sluice';

// Every Sluice path under /api (jobs, queue stats, drains, health) from this one file; a more specific
// route file (app/api/signup/route.ts) still wins for its own path.
export const { GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS } = nextHandlers(sluice);

// Drains run up to the function's deadline (vercel.json gives the drain paths 60 s too). No `runtime`
// export: route handlers run on Node.js by default (pg needs it), and with cacheComponents on, Next
// refuses a route segment's `runtime`.
export const maxDuration = 60;
