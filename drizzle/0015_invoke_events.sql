-- Child jobs and events (hand-written comment): a job state more, waiting (a job whose handler awaits
-- child jobs or an event; it holds no lease), the columns that tie a child to its parent and make a
-- waiting job due again, and the events table. New columns are nullable or have a constant default (no rewrite);
-- the looser check constraint refuses nothing. The claim index stays partial on pending, so waiting
-- rows are never walked by a claim. A deployment of the previous version still serving meanwhile
-- neither writes nor reads these columns and keeps working.
CREATE TABLE "sluice"."events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"key" text NOT NULL,
	"data" jsonb,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sluice"."jobs" DROP CONSTRAINT "jobs_status_check";--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "parent_id" uuid;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "parent_step" text;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "deliveries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "wait_for" text[];--> statement-breakpoint
CREATE INDEX "events_name_key_idx" ON "sluice"."events" USING btree ("name","key","id");--> statement-breakpoint
CREATE INDEX "events_sent_idx" ON "sluice"."events" USING btree ("sent_at");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_parent_idx" ON "sluice"."jobs" USING btree ("parent_id","parent_step") WHERE "sluice"."jobs"."parent_id" is not null;--> statement-breakpoint
CREATE INDEX "jobs_wait_for_idx" ON "sluice"."jobs" USING gin ("wait_for") WHERE "sluice"."jobs"."status" = 'waiting';--> statement-breakpoint
CREATE INDEX "jobs_waiting_idx" ON "sluice"."jobs" USING btree ("type","run_after") WHERE "sluice"."jobs"."status" = 'waiting';--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD CONSTRAINT "jobs_status_check" CHECK ("sluice"."jobs"."status" in ('pending', 'running', 'waiting', 'dead', 'completed', 'cancelled'));