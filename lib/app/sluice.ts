import { allJobs } from '../jobs/index.js';
import { createSluice } from '../sluice.js';
import { appRoutes } from './routes.js';

/**
 * This repository's app: Sluice with the example's job types and its signup route. Every runtime
 * serves this one instance: Vercel's api/ files and npm run dev.
 */
export const sluice = createSluice({ jobs: allJobs, routes: appRoutes });
