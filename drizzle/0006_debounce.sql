-- Debounce (issue 10): a key per job; at most one pending job of a type and key takes the latest payload.
ALTER TABLE "sluice"."jobs" ADD COLUMN "debounce_key" text;--> statement-breakpoint
CREATE INDEX "jobs_debounce_idx" ON "sluice"."jobs" USING btree ("type","debounce_key") WHERE "sluice"."jobs"."debounce_key" is not null and "sluice"."jobs"."status" = 'pending';