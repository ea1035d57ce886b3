import { HttpError, type Db } from 'sluice';
import { z } from 'zod';
import { users } from './schema';
import { sendWelcomeEmail, sluice } from './sluice';

export const signupSchema = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).refine((n) => !n.includes('\0') && n.isWellFormed(), 'name holds a character Postgres cannot store'),
});

/** Postgres' unique_violation, wherever the driver or drizzle put it. */
function isUniqueViolation(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

/**
 * Creates the user and enqueues their welcome email in one transaction: either both exist or neither
 * does. The job's idempotency key makes a replayed request unable to queue a second email.
 * A taken email is a 409 (nothing written, nothing enqueued).
 */
export async function signUp({ email, name }: z.output<typeof signupSchema>, db: Db = sluice.db) {
  try {
    return await db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ email, name }).returning();
      const job = await sluice.enqueue(sendWelcomeEmail, { userId: user!.id, email, name }, { tx, idempotencyKey: `welcome:${user!.id}` });
      return { user: user!, jobId: job.id };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new HttpError(409, `a user with email ${email} exists already`, { code: 'email_taken' });
    throw error;
  }
}
