-- Paused job types (issue 10): the claim skips their jobs until an operator resumes them.
CREATE TABLE "sluice"."paused_types" (
	"type" text PRIMARY KEY NOT NULL,
	"paused_at" timestamp with time zone DEFAULT now() NOT NULL
);
