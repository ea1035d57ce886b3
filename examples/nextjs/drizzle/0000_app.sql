-- The app's tables (drizzle-kit generated from lib/schema.ts; IF NOT EXISTS by hand): the same
-- migration (same journal entry) as the Sluice repository's own example app, lib/app/drizzle, so a
-- database migrated by either takes the other's as already applied.
CREATE TABLE IF NOT EXISTS "sent_emails" (
	"key" text PRIMARY KEY NOT NULL,
	"to" text NOT NULL,
	"subject" text NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "users_email_idx" ON "users" USING btree ("email");