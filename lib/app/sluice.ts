import { allJobs } from './jobs/index.js';
import { createSluice, type SluiceOptions } from '../sluice.js';
import { appRoutes } from './routes.js';

/** This repository's app: the example's job types and its signup route. */
export const appOptions = { jobs: allJobs, routes: appRoutes } satisfies SluiceOptions;

/**
 * The instance Vercel's api/ files and npm run dev serve. (deploy/aws/handler.ts builds its own from
 * appOptions, with a pool sized for Lambda.)
 */
export const sluice = createSluice(appOptions);
