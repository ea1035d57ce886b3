import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../http/context.js';
import { freshDatabase } from '../support/db.js';
import { countJobs, select, UNFINISHED, waitFor } from '../support/sql.js';
import { startWakeApp, type WakeApp } from '../support/wake.js';
import { stepRuns, stepsWorkflow } from '../support/workflow.js';

/**
 * Time limits without double work, at full size: a workflow of ten 5 s steps under a 30 s function
 * limit (DRAIN_MAX_DURATION_MS, with the default 3 s safety margin), served by serve() as `sluice dev`
 * and Node deployments are. Enqueued over HTTP, it starts with the kick and goes on in continuations
 * (real self-calls to POST /api/drain), with no cron tick: twice, with no step history (each run judges
 * by its own longest step) and then with the first job's durations. About two minutes.
 */
let conn: Awaited<ReturnType<typeof freshDatabase>>;
let app: WakeApp;
const log = stepRuns();
const STEPS = 10;
const STEP_MS = 5_000;

beforeAll(async () => {
  conn = await freshDatabase('pg');
  const workflow = stepsWorkflow('ten-steps-5s', STEPS, STEP_MS, log);
  app = await startWakeApp(conn.db, [workflow], { DRAIN_MAX_DURATION_MS: 30_000, DRAIN_SAFETY_MARGIN_MS: 3_000, SLUICE_MAX_FANOUT: 1 });
});
afterAll(async () => {
  await app?.close();
  await conn?.close();
});

describe('a ten-step workflow of 5 s steps under a 30 s function limit', () => {
  for (const history of ['no step history', 'the first job\'s step history']) {
    it(`completes with no step run twice (${history})`, async () => {
      const runsBefore = log.attempts.length;
      const invocationsBefore = app.drainBodies.length;
      const started = Date.now();
      const res = await app.call('POST', '/api/jobs', { token: SECRETS.ENQUEUE_SECRET, json: { type: 'ten-steps-5s', payload: {} } });
      expect(res.status).toBe(202);
      const id = (res.json as { id: string }).id;
      await waitFor('the workflow to complete', async () => ((await countJobs(conn.db, sql`id = ${id}::uuid and ${UNFINISHED}`)) === 0 ? true : undefined), 180_000);
      const wallMs = Date.now() - started;
      const steps = [...log.runs].filter(([key]) => key.startsWith(id));
      expect(steps).toHaveLength(STEPS);
      expect(steps.every(([, n]) => n === 1)).toBe(true);
      const runs = log.attempts.slice(runsBefore);
      // Every run but the last was handed back, its attempt returned: all are attempt 1.
      expect(runs.every((a) => a === 1)).toBe(true);
      const continuations = app.drainBodies.length - invocationsBefore;
      const [timing] = await select<{ p90: number }>(conn.db, sql`select percentile_disc(0.9) within group (order by d) as p90 from sluice.step_timings, unnest(durations_ms) d where type = 'ten-steps-5s'`);
      console.log(`[workflow time limits] ${history}: done in ${(wallMs / 1000).toFixed(1)} s; ${runs.length} runs (${runs.length - 1} hand-backs) in ${continuations + 1} invocations (the kick's and ${continuations} continuations); every step ran once; steps' p90 now ${timing!.p90} ms`);
      // 50 s of steps cannot fit in fewer than two 27 s invocations, and no step ran while cut off.
      expect(runs.length).toBeGreaterThanOrEqual(2);
    });
  }
});
