import { createSluice } from 'sluice';
import { sendWelcomeEmail } from './jobs';

/**
 * The app's one Sluice: its job types, and a pool on DATABASE_URL opened on first use (so `next build`
 * needs no database). Module scope, so every request a function instance serves shares the pool.
 * Secrets (ENQUEUE_SECRET, ADMIN_SECRET, CRON_SECRET, DRAIN_SECRET) come from the environment.
 */
export const sluice = createSluice({ jobs: [sendWelcomeEmail] });

export { sendWelcomeEmail };
