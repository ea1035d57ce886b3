import { nextHandlers } from 'sluice/next';
import { sluice } from '@/lib/sluice';

// Every Sluice path under /api (jobs, queue stats, drains, health) from this one file; a more specific
// route file (app/api/signup/route.ts) still wins for its own path.
export const { GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS } = nextHandlers(sluice);

// pg needs Node.js; drains run up to the function's deadline (vercel.json gives the drain paths 60 s too).
export const runtime = 'nodejs';
export const maxDuration = 60;
