-- One row of queue-wide state (id 1, written by an upsert, so none is seeded): when a drain last ended
-- well, which /api/health's dead-man switch reads.
CREATE TABLE "sluice"."queue_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"last_drain_ok_at" timestamp with time zone,
	CONSTRAINT "queue_state_one_row" CHECK ("sluice"."queue_state"."id" = 1)
);
