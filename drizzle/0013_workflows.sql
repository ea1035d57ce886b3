-- Results, cancelling running work and progress (hand-written comment): two more job states, completed
-- and cancelled, kept for SLUICE_RESULT_RETENTION. Adding nullable columns (and one with a constant
-- default) rewrites nothing; the new check constraint is looser than the old one, so the scan that
-- validates it finds nothing to refuse. The claim index stays partial on pending: claims never see the
-- new states. A deployment of the previous version still serving during the deploy keeps working: it
-- deletes what it completes or cancels, as it did.
ALTER TABLE "sluice"."jobs" DROP CONSTRAINT "jobs_status_check";--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "result" jsonb;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "awaited" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "progress" jsonb;--> statement-breakpoint
CREATE INDEX "jobs_completed_idx" ON "sluice"."jobs" USING btree ("type","completed_at") WHERE "sluice"."jobs"."status" = 'completed';--> statement-breakpoint
CREATE INDEX "jobs_cancelled_idx" ON "sluice"."jobs" USING btree ("type","cancelled_at") WHERE "sluice"."jobs"."status" = 'cancelled';--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD CONSTRAINT "jobs_status_check" CHECK ("sluice"."jobs"."status" in ('pending', 'running', 'dead', 'completed', 'cancelled'));