-- Kicks and fan-out (issue 9): leases on fanned-out and continuing drains (slots 1..SLUICE_MAX_FANOUT - 1, free
-- once held_until has passed), and when a kick last started a drain elsewhere (kicks coalesce on it).
CREATE TABLE "sluice"."drain_slots" (
	"slot" integer PRIMARY KEY NOT NULL,
	"held_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sluice"."queue_state" ADD COLUMN "kick_sent_at" timestamp with time zone;