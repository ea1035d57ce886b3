import { z } from 'zod';

/**
 * Every setting Sluice reads from the environment, parsed once by zod. Each default is stated here
 * and nowhere else; docs/configuration.md's table mirrors this file
 * (test/docs-links.test.ts holds the two to the same names).
 */
/** The shortest value a secret may have. Secrets are the only thing between the internet and the
 *  queue: 16 random characters are beyond any online guessing, even unthrottled. */
export const SECRET_MIN_LENGTH = 16;
// Empty counts as unset (parseConfig), never as an empty secret. Two values, "new,old", while rotating.
// The messages name the setting (zod's path), never the value: a refused secret must not reach a log.
const optionalSecret = z
  .string()
  .refine((s) => s.split(',').length <= 2 && s.split(',').every((v) => v.length > 0), {
    error: 'a secret is one value, or two separated by a comma while rotating ("new,old"), without empty values',
  })
  // Whitespace is what a copy-paste or `echo value | vercel env add` leaves behind, and a bearer token
  // cannot carry it: such a secret would only ever answer 401.
  .refine((s) => !/\s/.test(s), { error: 'a secret must not contain whitespace (a space, tab or newline)' })
  .refine((s) => s.split(',').every((v) => v.length === 0 || v.length >= SECRET_MIN_LENGTH), {
    error: `each value of a secret must be at least ${SECRET_MIN_LENGTH} characters long (e.g. the output of openssl rand -base64 24)`,
  })
  .optional();

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A duration: ms as a number, or a number with a unit: "90s", "12h", "30d" (ms, s, m, h, d). */
const durationMs = z.union([
  z.number(),
  z.string().regex(/^\d+(ms|s|m|h|d)?$/, 'a duration: a whole number of ms, or one with a unit (ms, s, m, h, d), e.g. "30d"')
    .transform((v) => Number(/^\d+/.exec(v)![0]) * DURATION_UNITS_MS[(/[a-z]+$/.exec(v)?.[0] ?? 'ms') as keyof typeof DURATION_UNITS_MS]),
], { error: 'a duration: a whole number of ms, or one with a unit (ms, s, m, h, d), e.g. "30d"' });
const TEN_YEARS_MS = 10 * 365 * 86_400_000;
const duration = durationMs.pipe(z.number().int().min(60_000, 'at least a minute').max(TEN_YEARS_MS, 'at most ten years'));
/** A duration as above, or 0: keep none. */
const durationOrNone = durationMs.pipe(z.number().int().refine((ms) => ms === 0 || ms >= 60_000, '0 (keep none) or at least a minute').pipe(z.number().max(TEN_YEARS_MS, 'at most ten years')));

const envSchema = z.object({
  /** Postgres connection string. Required by anything that connects. */
  DATABASE_URL: z.string().optional(),
  /** A direct (unpooled) connection string for migrations, as Vercel's Neon integration sets it. Default: DATABASE_URL. */
  DATABASE_URL_UNPOOLED: z.string().optional(),
  /** 'pg' (TCP) or 'neon' (WebSocket Pool). Default: neon for *.neon.tech hosts, pg otherwise. */
  DATABASE_DRIVER: z.enum(['pg', 'neon']).optional(),
  /** host:port/path of a WebSocket-to-TCP relay for the neon driver (local use). Default: Neon's own. */
  NEON_WS_PROXY: z.string().optional(),
  /** Largest payload accepted by enqueue, in bytes of JSON. Default 256 KB. */
  SLUICE_MAX_PAYLOAD_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /** Largest result a durable step (ctx.step) may store, in bytes of JSON; a larger one ends the job dead. Default 256 KB. */
  SLUICE_MAX_STEP_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /** Largest result a job may store (what its handler returns), in bytes of JSON; a larger one is a failed
   *  run, retried like a throw. Default 256 KB. */
  SLUICE_MAX_RESULT_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /** How long a completed or cancelled job is kept, with its result, for sluice.result(), admin.get()
   *  and its idempotency key: ms, or "7d". Default 7 days: long enough for a caller that polls, or a
   *  human who looks the next working day or after a weekend, short enough that results (which may hold
   *  personal data) and the rows' index entries do not pile up. A completed job with a result, or one
   *  somebody awaits, is kept the longer of this and SLUICE_COMPLETED_RETENTION. */
  SLUICE_RESULT_RETENTION: duration.default(7 * 86_400_000),
  /** How long every completed run is kept, result or not, as the run history (admin.list({ status:
   *  'completed' }), the dashboard's runs, export, replay): ms, or "7d". 0 deletes a job that returns
   *  nothing and that nobody awaits as it completes. Default 7 days: the dashboard's charts look back 7
   *  days, so a run behind any point on them can be found; "did the email go out on Friday" is asked on
   *  Monday. It costs about 190 bytes of table and index per run with a small payload, compacted
   *  (docs/performance.md), and a drain some of its throughput (0.65-0.92x across the bench's round trips); pruning runs in statements of its own after a tick,
   *  on completed rows only, so it never waits for or holds a row a claim wants. */
  SLUICE_COMPLETED_RETENTION: durationOrNone.default(7 * 86_400_000),
  /** How long a sent event (sluice.sendEvent) is kept for a job's ctx.waitForEvent to find: ms, or "7d".
   *  Default 7 days, as results: a job enqueued, then an event for it, then the job reaching its wait
   *  days later (a paused type, a long backlog, a retry after the weekend) still finds it. A wait that
   *  starts after its event was pruned waits for another. */
  SLUICE_EVENT_RETENTION: duration.default(7 * 86_400_000),
  /** A step is not started when this percentile of its name's last 20 runs (per job type) would not end
   *  before the drain stops: the job is handed back to a fresh invocation. 1-100; 0 keeps no history in
   *  the estimate (a run's longest step so far alone counts). Default 90. */
  SLUICE_STEP_ESTIMATE_PERCENTILE: z.coerce.number().int().min(0).max(100).default(90),
  /** Bearer secrets of the HTTP surface. A route whose secret is unset answers 500, never runs open. */
  ENQUEUE_SECRET: optionalSecret,
  ADMIN_SECRET: optionalSecret,
  CRON_SECRET: optionalSecret,
  /** Manual drain secret. Default: CRON_SECRET. */
  DRAIN_SECRET: optionalSecret,
  /** /api/health shows its counts and problems to callers sending this (or ADMIN_SECRET); anyone else
   *  gets { ok } and the status. Default: unset (only ADMIN_SECRET sees them). */
  HEALTH_SECRET: optionalSecret,
  /** Wrong secrets (a dashboard password, a bearer token) one client address may send per
   *  SLUICE_AUTH_FAILURE_WINDOW; past it, the address is answered 429 until the window ends, even with
   *  the right secret. 0 turns the throttle off. Default 10. */
  SLUICE_AUTH_MAX_FAILURES: z.coerce.number().int().nonnegative().default(10),
  /** The throttle's window, counted from an address's first wrong secret: ms, or "15m". Default 15 min. */
  SLUICE_AUTH_FAILURE_WINDOW: duration.default(15 * 60_000),
  /** How long /api/health answers a caller without a secret from its last result: at most one query per
   *  instance in this time, however often it is called. Default 5 s; 1 s to 10 min. */
  SLUICE_HEALTH_CACHE_MS: z.coerce.number().int().min(1_000).max(600_000).default(5_000),
  /** This app's name on a database other Sluice apps may share (lib/queue/app.ts): the scope of its
   *  coordination, stats, alerts and retention. Default: derived from the sorted job type names, so apps
   *  with different jobs are apart with no setting; set it to keep one name across deploys that add or
   *  remove types (else those start a new drain mark, samples and alert states). */
  SLUICE_APP: z.string().max(200).regex(/^\S+$/, 'no spaces').optional(),
  /** /api/health answers 503 when the oldest due pending job has waited longer. Default 5 min. */
  ALERT_OLDEST_PENDING_MS: z.coerce.number().int().nonnegative().default(5 * 60_000),
  /** The dead-man switch: /api/health answers 503 when a job has been due this long and no drain has
   *  ended well for as long (crons that stopped). Default 20 min: longer than SLUICE_IDLE_CHECK_MS plus
   *  a tick, the longest an idle queue goes without a drain; above a day on Hobby's daily cron. */
  ALERT_DRAIN_STALE_MS: z.coerce.number().int().positive().default(20 * 60_000),
  /** /api/health answers 503 when more jobs than this are dead. Default 0: any dead job alerts. */
  ALERT_DEAD_MAX: z.coerce.number().int().nonnegative().default(0),
  /** Where the cron tick posts alerts (Slack-compatible JSON: { text, alert }) when a condition above
   *  starts, clears, or still holds after ALERT_REPEAT_MS. Default: unset (no alerts sent). */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** A condition that still holds is announced again at most this often. Default 4 h. */
  ALERT_REPEAT_MS: z.coerce.number().int().min(60_000).default(4 * 3_600_000),
  /** How long the per-minute history (dashboard charts) is kept: ms, or "7d", "12h". Default 7 days. */
  SLUICE_HISTORY_RETENTION: duration.default(7 * 86_400_000),
  /** How long a dead job is kept after it died (its payload may hold personal data): ms, or "30d".
   *  Default 30 days. */
  SLUICE_DEAD_RETENTION: duration.default(30 * 86_400_000),
  /** Time kept back from the function's deadline for the drain's last write and the response. Default 3 s. */
  DRAIN_SAFETY_MARGIN_MS: z.coerce.number().int().nonnegative().default(3_000),
  /** Drain functions' maxDuration (vercel.json), used when the platform gives no deadline. Default 60 s. */
  DRAIN_MAX_DURATION_MS: z.coerce.number().int().positive().default(60_000),
  /** Where the example welcome email is posted. Default: logged instead. */
  EMAIL_WEBHOOK_URL: z.url().optional(),
  /** Largest HTTP request body the API reads, in bytes (bulk enqueue). Default 4 MB (Vercel's cap is 4.5 MB). */
  SLUICE_MAX_BODY_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** npm run dev: HTTP port. Default 3000. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** npm run dev: the interface to listen on. Default 127.0.0.1 (this machine only); 0.0.0.0 for every interface. */
  HOST: z.string().default('127.0.0.1'),
  /** npm run dev: port of the embedded Postgres (ignored with DATABASE_URL). Default 5433. */
  SLUICE_DEV_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  /** npm run dev: where it keeps the embedded Postgres' data and dev.env. Default: .data/ in the repository. */
  SLUICE_DEV_DATA_DIR: z.string().optional(),
  /** npm run dev: run vercel.json's crons every this many ms instead of on their schedules; 0 turns them off. Default: unset. */
  SLUICE_DEV_CRON_MS: z.coerce.number().int().nonnegative().optional(),
  /** Kick on enqueue: a short drain starts right after POST /api/jobs answers (and on sluice.kick()). Default on. */
  SLUICE_KICK: z.union([z.boolean(), z.stringbool()]).default(true),
  /** Most drains a tick runs at once on a backlog (itself included); 1 turns fan-out off. Default 4. */
  SLUICE_MAX_FANOUT: z.coerce.number().int().min(1).max(64).default(4),
  /** How many times a drain that ran out of time with work left hands over to a fresh invocation, in a
   *  row; 0 turns continuing off (the next tick picks the work up). Default 10. */
  SLUICE_MAX_CONTINUATIONS: z.coerce.number().int().nonnegative().max(1000).default(10),
  /** A tick with no due work in its hint skips the database, but queries at least this often (the hint
   *  is not durable); 0 makes every tick query. Default 15 min. */
  SLUICE_IDLE_CHECK_MS: z.coerce.number().int().nonnegative().default(15 * 60_000),
  /** Where fan-out and continuation drains are requested (POST {base}/api/drain). Default: the origin of
   *  the request being served (the cron's own URL). */
  SLUICE_BASE_URL: z.url().optional(),
  /** The log's threshold (lib/queue/log.ts: one JSON object per line): debug, info, warn, error or
   *  silent. Read from the environment only, as a process has one log. Default info. */
  SLUICE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Show a job's payload in the log line of its going dead (never anywhere else). Read from the
   *  environment only. Default off: payloads often hold personal data. */
  SLUICE_LOG_PAYLOADS: z.union([z.boolean(), z.stringbool()]).default(false),
  /** AWS Lambda: the drain function (name or ARN) that kicks, fan-out and continuations invoke
   *  asynchronously. Default: unset (no kicks on Lambda; fan-out and continuations off there). */
  SLUICE_DRAIN_FUNCTION: z.string().optional(),
});

export type Config = z.infer<typeof envSchema>;

/** The defaults alone: what an engine call uses for a value its caller did not pass (an instance passes its settings). */
export const DEFAULT_SETTINGS: Config = envSchema.parse({});

export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable (easy to leave behind in a dashboard) means unset, for every variable.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) throw new Error(`invalid environment: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * An instance's overrides (createSluice's `settings`), checked like the environment: empty strings
 * mean unset, secrets and numbers are validated, so an override cannot be looser than the variable.
 */
export function parseSettings(overrides: Partial<Record<keyof Config, unknown>>): Partial<Config> {
  const set = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.partial().safeParse(set);
  if (!parsed.success) throw new TypeError(`invalid settings: ${z.prettifyError(parsed.error)}`);
  // Only the keys given (a partial schema still fills in defaults); undefined or '' unsets the environment's.
  const data = parsed.data as Record<string, unknown>;
  return Object.fromEntries(Object.keys(overrides).map((k) => [k, k in set ? data[k] : undefined])) as Partial<Config>;
}

let cached: Config | undefined;
/** The process's configuration, parsed on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Forgets the parsed configuration, so the next config() reads process.env again (tests, dev). */
export function resetConfig(): void {
  cached = undefined;
}

/** Defaults of a drain pass (drain.ts); every one can be overridden per call. */
export const DRAIN_DEFAULTS = {
  /** Time budget of one pass when no deadline is given. */
  budgetMs: 10_000,
  /** Handlers running at once. */
  concurrency: 10,
  /** Most jobs one claim statement takes (claims start smaller and grow while jobs finish fast enough
   *  to start within the lease grace). Larger batches mean fewer round trips per job; lower it for
   *  payloads of many kilobytes, as up to two batches are in memory at once. */
  batchSize: 1_000,
  /** A job's lease: how long it lasts past the claim or the last heartbeat. The drain renews the leases
   *  of the jobs it holds every third of it, so a dead drain's jobs are rescued this long after it died. */
  leaseGraceMs: 10_000,
  /** Buffered outcomes are written at the latest this long after the first of them. */
  flushDelayMs: 250,
  /** Rows the rescue looks at per pass. */
  rescueLimit: 1_000,
  /** Rows a cron tick that ran jobs prunes, at most, of each kind: flow limits' slots spent for over an
   *  hour (queries-flow.ts), steps whose job is gone (queries-steps.ts). */
  pruneBatch: 10_000,
  /** Batches of completed runs past retention a tick that ran jobs deletes at most (while they come back
   *  full): 100,000 a minute, about 1,600 runs a second kept up with. */
  completedPruneBatches: 10,
} as const;

/** Defaults of a job type (jobs.ts). */
export const JOB_DEFAULTS = {
  maxAttempts: 5,
  /** A run is aborted (ctx.signal) and counted as failed after this long. */
  timeoutMs: 30_000,
  priority: 0,
} as const;
