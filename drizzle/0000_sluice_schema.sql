-- Sluice's tables live in the schema "sluice" (drizzle-kit generated the statements below from
-- lib/queue/schema.ts; the IF NOT EXISTS clauses, the adoption of an old public.jobs and the
-- autovacuum settings are hand-written). Applies to a fresh database and to one that an older Sluice
-- migrated, whose queue is public.jobs (bookkept in drizzle.__drizzle_migrations).
CREATE SCHEMA IF NOT EXISTS "sluice";
--> statement-breakpoint
-- Adopt the queue table of an older Sluice: move public.jobs, with its rows, indexes, constraints and
-- settings, into the schema. Only a table that is recognisably Sluice's (its lease check and lease
-- token column) and only when sluice.jobs does not exist yet; an app's own public.jobs is left alone.
-- The old deployment keeps running while the new one builds (and a rollback would bring it back): a
-- view public.jobs onto sluice.jobs keeps its unqualified statements working (every one of them,
-- ON CONFLICT and FOR UPDATE SKIP LOCKED included, works on a simple view). Roles granted the old
-- table get the schema and the view too. A later release drops the view.
DO $$
DECLARE
  grantee text;
BEGIN
  IF to_regclass('"sluice"."jobs"') IS NULL
    AND EXISTS (
      SELECT 1 FROM pg_constraint
      WHERE conrelid = to_regclass('"public"."jobs"') AND contype = 'c' AND conname = 'jobs_lease_check'
    )
    AND EXISTS (
      SELECT 1 FROM pg_attribute
      WHERE attrelid = to_regclass('"public"."jobs"') AND attname = 'lock_token' AND NOT attisdropped
    )
  THEN
    ALTER TABLE "public"."jobs" SET SCHEMA "sluice";
    CREATE VIEW "public"."jobs" AS SELECT * FROM "sluice"."jobs";
    COMMENT ON VIEW "public"."jobs" IS 'Sluice''s queue moved to sluice.jobs; this view serves deployments of older versions until they are gone.';
    FOR grantee IN
      SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
      FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = to_regclass('"sluice"."jobs"') AND a.grantee <> c.relowner
    LOOP
      EXECUTE format('GRANT USAGE ON SCHEMA "sluice" TO %s', grantee);
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON "public"."jobs" TO %s', grantee);
    END LOOP;
  END IF;
END $$;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "sluice"."jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"lock_token" uuid,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"idempotency_key" text,
	CONSTRAINT "jobs_status_check" CHECK ("sluice"."jobs"."status" in ('pending', 'running', 'dead')),
	CONSTRAINT "jobs_attempts_check" CHECK ("sluice"."jobs"."attempts" >= 0 and "sluice"."jobs"."max_attempts" >= 1),
	CONSTRAINT "jobs_lease_check" CHECK (("sluice"."jobs"."status" = 'running') = ("sluice"."jobs"."lock_token" is not null and "sluice"."jobs"."locked_until" is not null))
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "jobs_claim_idx" ON "sluice"."jobs" USING btree ("priority" DESC NULLS LAST,"run_after") WHERE "sluice"."jobs"."status" = 'pending';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "jobs_rescue_idx" ON "sluice"."jobs" USING btree ("locked_until") WHERE "sluice"."jobs"."status" = 'running';--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "jobs_idempotency_key_idx" ON "sluice"."jobs" USING btree ("idempotency_key") WHERE "sluice"."jobs"."idempotency_key" is not null;--> statement-breakpoint
-- A queue table churns: every job is inserted, updated at claim and deleted. Postgres' defaults wait
-- for 20% of the table to be dead (10% changed for statistics) before vacuuming (analyzing) it, which
-- on a large backlog lets dead rows and stale planner statistics pile up. Act at 1% instead.
ALTER TABLE "sluice"."jobs" SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_analyze_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01
);
