import { z } from 'zod';
import { defineJob, PermanentError } from '../../index.js';
import { config } from '../../queue/config.js';
import { log } from '../../queue/log.js';
import { sentEmails } from '../schema.js';

const payload = z.object({ userId: z.string().min(1).max(100), email: z.email(), name: z.string().min(1).max(200) });

/** What one welcome email is keyed by, as a job's idempotency key and in sent_emails: its address. */
export const welcomeKey = (email: string) => `welcome:${email.toLowerCase()}`;

/**
 * The example job: welcomes a user who signed up (POST /api/signup enqueues it in the same
 * transaction as the user row). Idempotent per address: it records the key welcome:<address> in
 * sent_emails, in a transaction held open while it delivers, so a second run, a concurrent one, or
 * another job for the same address finds the key and sends nothing; a failed delivery rolls the
 * record back and the job is retried.
 */
export const sendWelcomeEmail = defineJob({
  type: 'send-welcome-email',
  payload,
  maxAttempts: 5,
  timeoutMs: 10_000,
  handler: async ({ email, name }, ctx) => {
    const subject = `Welcome to Sluice, ${name}!`;
    await ctx.db.transaction(async (tx) => {
      const recorded = await tx.insert(sentEmails).values({ key: welcomeKey(email), to: email, subject })
        .onConflictDoNothing().returning({ key: sentEmails.key });
      if (recorded.length === 0) return; // sent by an earlier run
      await deliver({ to: email, subject, text: `Hi ${name}, thanks for signing up.` }, ctx.signal);
    });
  },
});

/** Posts the email to EMAIL_WEBHOOK_URL, or logs it when none is set. */
async function deliver(email: { to: string; subject: string; text: string }, signal: AbortSignal): Promise<void> {
  const url = config().EMAIL_WEBHOOK_URL;
  if (!url) {
    // The example's stand-in for delivery, so the address is the point of this line (a real app's log would not hold it).
    log.info('welcome email (no EMAIL_WEBHOOK_URL: logged instead of sent)', { to: email.to, subject: email.subject });
    return;
  }
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(email), signal });
  // 4xx other than 408/429 will not get better by retrying; everything else is retried with backoff.
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    throw new PermanentError(`email webhook rejected the message: ${res.status}`);
  }
  if (!res.ok) throw new Error(`email webhook answered ${res.status}`);
}
