CREATE TABLE "sluice"."alerts" (
	"name" text PRIMARY KEY NOT NULL,
	"active" boolean NOT NULL,
	"detail" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sluice"."job_history" (
	"minute" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"completed" integer DEFAULT 0 NOT NULL,
	"retried" integer DEFAULT 0 NOT NULL,
	"dead" integer DEFAULT 0 NOT NULL,
	"rescued" integer DEFAULT 0 NOT NULL,
	"run_hist" integer[] NOT NULL,
	"lag_hist" integer[] NOT NULL,
	CONSTRAINT "job_history_minute_type_pk" PRIMARY KEY("minute","type")
);
--> statement-breakpoint
CREATE TABLE "sluice"."queue_samples" (
	"minute" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"pending" integer NOT NULL,
	"due" integer NOT NULL,
	"running" integer NOT NULL,
	"dead" integer NOT NULL,
	"oldest_due_ms" double precision NOT NULL,
	CONSTRAINT "queue_samples_minute_type_pk" PRIMARY KEY("minute","type")
);
--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "dead_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sluice"."jobs" ADD COLUMN "trace_parent" text;--> statement-breakpoint
-- Jobs already dead: their last run is the best known time of death (hand-written).
UPDATE "sluice"."jobs" SET "dead_at" = coalesce("started_at", "created_at") WHERE "status" = 'dead';--> statement-breakpoint
CREATE INDEX "jobs_dead_idx" ON "sluice"."jobs" USING btree ("dead_at") WHERE "sluice"."jobs"."status" = 'dead';