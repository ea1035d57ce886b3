import { streamSSE } from 'hono/streaming';
import { JobNotFoundError, type JobView } from '../queue/index.js';
import { log } from '../queue/log.js';
import { invocationDeadline } from '../wake/kick.js';
import type { HttpHandler } from './app.js';
import { authorize } from './auth.js';
import { parse, queryObject } from './body.js';
import { jobIdParam, jobResultQuery } from './schemas.js';

/** How often the event stream reads the job: progress is written about this often too (lease-keeper.ts). */
export const EVENTS_POLL_MS = 500;
/** The longest an event stream stays open: a client (EventSource) reconnects, and this invocation ends. */
export const EVENTS_LIFETIME_MS = 5 * 60_000;
/** Kept back from the invocation's deadline: the stream closes before the platform cuts it. */
const EVENTS_MARGIN_MS = 1_000;

const ENDED = new Set(['completed', 'dead', 'cancelled']);

/** The `end` event's data: the job's status, and its result or last error. */
function ending(job: JobView): Record<string, unknown> {
  if (job.status === 'completed') return { status: job.status, result: job.result };
  if (job.status === 'dead') return { status: job.status, error: job.lastError };
  return { status: job.status };
}

/**
 * GET /api/jobs/:id/events (ADMIN_SECRET): Server-Sent Events of one job. `progress` (its latest
 * ctx.progress() value, sent when it changes, the first one at once) and a last `end` ({ status,
 * result | error }), then the stream closes. It reads the job every EVENTS_POLL_MS for at most
 * EVENTS_LIFETIME_MS (or until the invocation's deadline), then closes without `end`: EventSource
 * reconnects. Following a job marks it awaited, as result() does, so it is there to end the stream.
 */
export const jobEvents: HttpHandler = async (c) => {
  const { sluice } = c.var;
  await authorize(c, 'ADMIN_SECRET');
  const { id } = parse(jobIdParam, { id: c.req.param('id') });
  await sluice.result(id); // 404 before the stream starts; marks it awaited
  let job = await sluice.admin.get(id);
  const start = Date.now();
  const until = Math.min(start + EVENTS_LIFETIME_MS, invocationDeadline(sluice.settings(), c.env?.deadline?.(), start) - EVENTS_MARGIN_MS);
  const response = streamSSE(c, async (stream) => {
    let sent: string | undefined;
    try {
      for (;;) {
        const progress = JSON.stringify(job.progress);
        if (job.progress !== null && progress !== sent) {
          await stream.writeSSE({ event: 'progress', data: progress, retry: 1_000 });
          sent = progress;
        }
        if (ENDED.has(job.status)) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify(ending(job)) });
          return;
        }
        if (stream.aborted || Date.now() + EVENTS_POLL_MS > until) return;
        await stream.sleep(EVENTS_POLL_MS);
        job = await sluice.admin.get(id);
      }
    } catch (error) {
      // Deleted meanwhile (by hand, or by retention), or the database failed: said, never detailed.
      if (!(error instanceof JobNotFoundError)) log.error('job event stream failed', { error });
      await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: error instanceof JobNotFoundError ? 'job not found' : 'the job could not be read' }) }).catch(() => {});
    }
  });
  response.headers.set('Cache-Control', 'no-store');
  return response;
};

/** GET /api/jobs/:id/result?timeoutMs= (ENQUEUE_SECRET): sluice.result() over HTTP, its wait bounded by the invocation's deadline. */
export const jobResult: HttpHandler = async (c) => {
  const { sluice } = c.var;
  await authorize(c, 'ENQUEUE_SECRET');
  const { id } = parse(jobIdParam, { id: c.req.param('id') });
  const { timeoutMs } = parse(jobResultQuery, queryObject(c.req.raw));
  const start = Date.now();
  const left = invocationDeadline(sluice.settings(), c.env?.deadline?.(), start) - EVENTS_MARGIN_MS - start;
  return c.json(await sluice.result(id, { timeoutMs: Math.max(0, Math.min(timeoutMs, left)) }));
};
