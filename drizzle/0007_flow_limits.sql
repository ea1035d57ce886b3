-- Flow limits (issue 10): per-type and per-key concurrency and rate limits, enforced by the claim through numbered slots.
CREATE TABLE "sluice"."flow_slots" (
	"type" text NOT NULL,
	"limiter" text NOT NULL,
	"key" text NOT NULL,
	"slot" integer NOT NULL,
	"held_until" timestamp with time zone NOT NULL,
	"job_id" uuid NOT NULL,
	"token" uuid NOT NULL,
	CONSTRAINT "flow_slots_type_limiter_key_slot_pk" PRIMARY KEY("type","limiter","key","slot"),
	CONSTRAINT "flow_slots_limiter_check" CHECK ("sluice"."flow_slots"."limiter" in ('concurrency', 'rate')),
	CONSTRAINT "flow_slots_slot_check" CHECK ("sluice"."flow_slots"."slot" >= 1)
);
--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "concurrency_key" text;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "rate_key" text;--> statement-breakpoint
CREATE INDEX "flow_slots_job_idx" ON "sluice"."flow_slots" USING btree ("job_id") WHERE "sluice"."flow_slots"."limiter" = 'concurrency';