import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { sendWelcomeEmail, welcomeKey } from './jobs/send-welcome-email.js';
import type { Sluice } from '../sluice.js';
import { users } from './schema.js';

export const signupSchema = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).refine((n) => !n.includes('\0') && n.isWellFormed(), 'name holds a character Postgres cannot store'),
});

/**
 * Signs an address up: the user row and their welcome email's job, in one transaction (both exist or
 * neither does). A taken address runs the same two statements and gets the same answer, so the route
 * tells no one which addresses have accounts: its row is left as it was (the upsert changes nothing
 * but returns it), and its job's idempotency key, welcome:<address>, finds the first job's (while that
 * is pending or dead: no second job) or, once that has run, a new job finds the address's email sent
 * already (sent_emails) and sends nothing. One welcome email per address, however often it signs up.
 */
export async function signUp(sluice: Sluice, input: z.input<typeof signupSchema>): Promise<void> {
  const { email, name } = signupSchema.parse(input);
  await sluice.db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ email, name })
      .onConflictDoUpdate({ target: users.email, set: { email: sql`excluded.email` } }).returning();
    // The stored name, not this request's: a stranger's signup never writes into another's email.
    await sluice.enqueue(sendWelcomeEmail, { userId: user!.id, email, name: user!.name }, { tx, idempotencyKey: welcomeKey(email) });
  });
}
