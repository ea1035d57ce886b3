-- Idempotency keys are unique per job type (issue 10): the same key on two types is two jobs. The new
-- index first, so uniqueness holds throughout. A previous deployment still serving while this applies
-- names the old index in its enqueue (ON CONFLICT (idempotency_key)): its enqueues that carry a key
-- fail until the new deployment serves, and their callers' retries then succeed.
CREATE UNIQUE INDEX "jobs_type_idempotency_key_idx" ON "sluice"."jobs" USING btree ("type","idempotency_key") WHERE "sluice"."jobs"."idempotency_key" is not null;--> statement-breakpoint
DROP INDEX "sluice"."jobs_idempotency_key_idx";
