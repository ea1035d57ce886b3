// What the dashboard's run-history routes accept (lib/dashboard/runs.ts). Every query and body is parsed
// here, so a bad filter is a 400 carrying zod's issues (lib/http/body.ts parse), never a 500 from a query.
import { z } from 'zod';
import { JOB_STATUSES } from '../queue/index.js';

/** Text Postgres can store and compare: no NUL, no lone surrogate (either would fail the query: a 500). */
const storableText = (max: number) =>
  z.string().min(1).max(max).refine((s) => !s.includes('\0') && s.isWellFormed(), 'holds a NUL or a lone surrogate');

/** An instant with its zone (`2026-01-02T03:04:05Z`, `...+02:00`): a bare local time would mean the server's zone. */
const instant = z.iso.datetime({ offset: true });

/** The statuses a bulk replay takes: only ended runs can be replayed. */
export const REPLAYABLE = ['completed', 'dead', 'cancelled'] as const;

const filterFields = {
  type: storableText(100).optional(),
  from: instant.optional(),
  to: instant.optional(),
  /** One job by id (the runs browser's "job id" box). */
  id: z.guid().optional(),
  /** An idempotency key, matched whole. */
  key: storableText(500).optional(),
};
const ordered = (f: { from?: string; to?: string }) => !f.from || !f.to || Date.parse(f.from) <= Date.parse(f.to);
const orderMessage = { message: 'from must not be after to', path: ['to'] };

/**
 * GET /api/dashboard/jobs?status=&type=&from=&to=&id=&key=&limit=&cursor=. Not strict: Vercel's rewrite
 * of /api/dashboard/:path* adds `path` to the query.
 */
export const runsQuery = z
  .object({
    ...filterFields,
    status: z.enum(JOB_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** nextCursor of the previous page: opaque, the engine's to read. */
    cursor: storableText(500).optional(),
  })
  .refine(ordered, orderMessage);

/** POST /api/dashboard/jobs/:id/replay: the whole job again, or from one of its finished steps. */
export const replayBody = z.strictObject({ fromStep: storableText(200).optional() });

/** POST /api/dashboard/replay { filter }: every ended run of the filter (status required: what "ended" means). */
export const replayManyBody = z.strictObject({
  filter: z.strictObject({ ...filterFields, status: z.enum(REPLAYABLE) }).refine(ordered, orderMessage),
});

export type RunsQuery = z.output<typeof runsQuery>;
export type ReplayManyFilter = z.output<typeof replayManyBody>['filter'];
