-- Schedules declared in code (issue 10): the last slot each has enqueued.
CREATE TABLE "sluice"."schedules" (
	"name" text PRIMARY KEY NOT NULL,
	"last_slot" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
