import { z } from 'zod';
import { sendWelcomeEmail } from '../jobs/send-welcome-email.js';
import { SluiceError } from '../queue/index.js';
import type { Sluice } from '../sluice.js';
import { users } from './schema.js';

export const signupSchema = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).refine((n) => !n.includes('\0') && n.isWellFormed(), 'name holds a character Postgres cannot store'),
});

/** A user with this email exists already; nothing was written and no job was enqueued. */
export class EmailTakenError extends SluiceError {
  constructor(readonly email: string) {
    super('email_taken', `a user with email ${email} exists already`);
  }
}

/** Postgres' unique_violation, wherever the driver or drizzle put it. */
function isUniqueViolation(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

/**
 * Creates the user and enqueues their welcome email in one transaction: either both exist or
 * neither does. The job's idempotency key makes a replayed request unable to queue a second email.
 */
export async function signUp(sluice: Sluice, input: z.input<typeof signupSchema>) {
  const { email, name } = signupSchema.parse(input);
  try {
    return await sluice.db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ email, name }).returning();
      const job = await sluice.enqueue(sendWelcomeEmail, { userId: user!.id, email, name }, { tx, idempotencyKey: `welcome:${user!.id}` });
      return { user: user!, jobId: job.id };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError(email);
    throw error;
  }
}
