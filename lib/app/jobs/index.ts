import { sendWelcomeEmail } from './send-welcome-email.js';

/**
 * This app's job types: the registry the HTTP API enqueues into and the drains run. Add a job type by
 * writing a defineJob() module beside this file and listing it here (docs/development.md, "Adding a job type").
 */
// `as const`, not JobDefinition[]: the instance then knows each type's name and payload (typed enqueue calls).
export const allJobs = [sendWelcomeEmail] as const;

export { sendWelcomeEmail };
