import { pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The example app's tables: the users that POST /api/signup creates, and the emails the
 * send-welcome-email job has sent, one row per unique key, which is what makes that job idempotent.
 */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stored lower-cased; unique: signing up again finds this row (lib/app/users.ts). */
    email: text('email').notNull(),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_email_idx').on(t.email)],
);

export const sentEmails = pgTable('sent_emails', {
  /** What was sent to whom, e.g. welcome:<address>. A job records it before it sends. */
  key: text('key').primaryKey(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
