import type { JobDefinition } from '../queue/index.js';
import { sendWelcomeEmail } from './send-welcome-email.js';

/**
 * This app's job types: the registry the HTTP API enqueues into and the drains run. Add a job type by
 * writing a defineJob() module beside this file and listing it here (README: "Adding a job type").
 */
export const allJobs: JobDefinition[] = [sendWelcomeEmail];

export { sendWelcomeEmail };
