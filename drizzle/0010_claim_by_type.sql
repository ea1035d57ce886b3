-- The claim walks its own types only, and a fair type's jobs one key at a time (hand-written comment).
-- Building the indexes locks the jobs table against writes while it runs (seconds per million pending rows).
DROP INDEX "sluice"."jobs_claim_idx";--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "fairness_key" text;--> statement-breakpoint
CREATE INDEX "jobs_fair_idx" ON "sluice"."jobs" USING btree ("type","fairness_key","priority" DESC NULLS LAST,"run_after") WHERE "sluice"."jobs"."status" = 'pending' and "sluice"."jobs"."fairness_key" is not null;--> statement-breakpoint
CREATE INDEX "jobs_claim_idx" ON "sluice"."jobs" USING btree ("type","priority" DESC NULLS LAST,"run_after") WHERE "sluice"."jobs"."status" = 'pending';