import { sql } from 'drizzle-orm';
import type { Db } from 'sluice';
import { z } from 'zod';
import { welcomeKey } from './jobs';
import { users } from './schema';
import { sendWelcomeEmail, sluice } from './sluice';

export const signupSchema = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).refine((n) => !n.includes('\0') && n.isWellFormed(), 'name holds a character Postgres cannot store'),
});

/**
 * Signs an address up: the user row and their welcome email's job, in one transaction (both exist or
 * neither does). A taken address runs the same two statements and gets the same answer, so no one
 * learns which addresses have accounts: its row stays as it was (the upsert only returns it), and the
 * job's idempotency key, welcome:<address>, finds the first job, or a later job finds the email sent
 * already (sent_emails) and sends nothing. One welcome email per address.
 */
export async function signUp({ email, name }: z.output<typeof signupSchema>, db: Db = sluice.db): Promise<void> {
  await db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ email, name })
      .onConflictDoUpdate({ target: users.email, set: { email: sql`excluded.email` } }).returning();
    // The stored name, not this request's: a stranger's signup never writes into another's email.
    await sluice.enqueue(sendWelcomeEmail, { userId: user!.id, email, name: user!.name }, { tx, idempotencyKey: welcomeKey(email) });
  });
}
