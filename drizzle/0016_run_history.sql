-- Run history (hand-written comment): each job's earlier attempts, the job a replay ran again, and how long
-- each step took. Nullable columns (no rewrite) and an index on the few replay rows. A deployment of the
-- previous version still serving meanwhile neither writes nor reads them and keeps working; the rows it
-- completes meanwhile are deleted as they were.
ALTER TABLE "sluice"."job_steps" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "attempt_log" jsonb;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "replay_of" uuid;--> statement-breakpoint
CREATE INDEX "jobs_replay_idx" ON "sluice"."jobs" USING btree ("replay_of") WHERE "sluice"."jobs"."replay_of" is not null;