-- A queue table churns: every job is inserted, updated at claim and deleted. Postgres' defaults wait
-- for 20% of the table to be dead (10% changed for statistics) before vacuuming (analyzing) it, which
-- on a large backlog lets dead rows and stale planner statistics pile up. Act at 1% instead.
ALTER TABLE "jobs" SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_analyze_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01
);
