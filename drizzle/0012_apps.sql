-- Apps sharing a database coordinate apart (hand-edited after drizzle-kit generate). The dead-man mark,
-- the Lambda kick mark, drain slots and alert states move to tables keyed by app. The old ones
-- (queue_state, drain_slots, alerts) stay, unused: the previous version, still serving while this one
-- builds, keeps writing them instead of failing its claims. Their rows are not carried over: no app
-- name can be known here, and each is transient (the first good drain writes the mark again; an alert
-- that holds is announced once more).
CREATE TABLE "sluice"."app_alerts" (
	"app" text NOT NULL,
	"name" text NOT NULL,
	"active" boolean NOT NULL,
	"detail" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "app_alerts_app_name_pk" PRIMARY KEY("app","name")
);
--> statement-breakpoint
CREATE TABLE "sluice"."app_drain_slots" (
	"app" text NOT NULL,
	"slot" integer NOT NULL,
	"held_until" timestamp with time zone NOT NULL,
	CONSTRAINT "app_drain_slots_app_slot_pk" PRIMARY KEY("app","slot")
);
--> statement-breakpoint
CREATE TABLE "sluice"."apps" (
	"app" text PRIMARY KEY NOT NULL,
	"last_drain_ok_at" timestamp with time zone,
	"kick_sent_at" timestamp with time zone
);
--> statement-breakpoint
-- Samples so far belong to no known app: app '' (any app's retention prunes them). The previous
-- version's inserts name no app and no conflict target, so they keep working.
ALTER TABLE "sluice"."queue_samples" ADD COLUMN "app" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "sluice"."queue_samples" DROP CONSTRAINT "queue_samples_minute_type_pk";--> statement-breakpoint
ALTER TABLE "sluice"."queue_samples" ADD CONSTRAINT "queue_samples_app_minute_type_pk" PRIMARY KEY("app","minute","type");--> statement-breakpoint
-- Each app counts and prunes its own dead jobs along this (queries-stats.ts). On a large table, building
-- it holds writes to sluice.jobs for as long (as 0009's index did).
CREATE INDEX "jobs_dead_type_idx" ON "sluice"."jobs" USING btree ("type","dead_at" NULLS FIRST) WHERE "sluice"."jobs"."status" = 'dead';
