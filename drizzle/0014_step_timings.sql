-- Durable steps' durations, per job type and step name: the last 20 runs' ms, for a drain to judge
-- whether a step fits before its deadline (lib/queue/core/queries-step-timings.ts).
CREATE TABLE "sluice"."step_timings" (
	"type" text NOT NULL,
	"step" text NOT NULL,
	"durations_ms" integer[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "step_timings_type_step_pk" PRIMARY KEY("type","step")
);
