-- Durable steps (issue 11): each finished step of a job and its JSON result.
CREATE TABLE "sluice"."job_steps" (
	"job_id" uuid NOT NULL,
	"name" text NOT NULL,
	"result" jsonb NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "job_steps_job_id_name_pk" PRIMARY KEY("job_id","name")
);
