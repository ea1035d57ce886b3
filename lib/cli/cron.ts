import { readFileSync } from 'node:fs';

/** The local cron's User-Agent: the dev server's log leaves its calls out (the cron logs what matters). */
export const DEV_CRON_AGENT = 'sluice-dev-cron';

export interface CronJob {
  path: string;
  schedule: string;
}

/** The crons vercel.json declares. */
export function readCrons(vercelJson: string): CronJob[] {
  return (JSON.parse(readFileSync(vercelJson, 'utf8')) as { crons?: CronJob[] }).crons ?? [];
}

const FIELDS: [min: number, max: number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];

/** Values one cron field allows: *, n, a-b, lists and /step, as Vercel's cron expressions use. */
function field(text: string, [min, max]: [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let [lo, hi] = [min, max];
    if (range.includes('-')) [lo, hi] = range.split('-').map(Number) as [number, number];
    else if (range !== '*') [lo, hi] = [Number(range), stepText === undefined ? Number(range) : max];
    if (![lo, hi, step].every(Number.isInteger) || lo < min || hi > max || step < 1) throw new Error(`bad cron field "${text}"`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

/** Whether a five-field cron expression (UTC, as on Vercel) fires at the minute of `at`. */
export function cronMatches(schedule: string, at: Date): boolean {
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron schedule "${schedule}" must have five fields`);
  const now = [at.getUTCMinutes(), at.getUTCHours(), at.getUTCDate(), at.getUTCMonth() + 1, at.getUTCDay()];
  return parts.every((p, i) => field(p, FIELDS[i]!).has(now[i]!));
}

/**
 * Calls each cron's path on `baseUrl` as Vercel Cron does (GET, Authorization: Bearer CRON_SECRET):
 * on its schedule, checked at every minute boundary, or every `everyMs` when given. A call still
 * running when the next is due is not doubled. Returns a stop function that waits for calls in flight.
 */
export function startCrons(opts: {
  crons: CronJob[]; baseUrl: string; secret: string; everyMs?: number; log: (line: string) => void;
}): () => Promise<void> {
  const inFlight = new Map<string, Promise<void>>();
  const call = async (cron: CronJob) => {
    try {
      const res = await fetch(opts.baseUrl + cron.path, { headers: { authorization: `Bearer ${opts.secret}`, 'user-agent': DEV_CRON_AGENT } });
      const text = await res.text();
      // Quiet when a drain had nothing to do; anything else is worth a line.
      if (!res.ok || !/"claimed":0,/.test(text) || /"rescued":[1-9]/.test(text)) opts.log(`cron ${cron.path} ${res.status} ${text}`);
    } catch (error) {
      opts.log(`cron ${cron.path} failed: ${(error as Error).message}`);
    }
  };
  const delay = () => opts.everyMs ?? 60_000 - (Date.now() % 60_000) + 5; // just past the next minute
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = new Date();
    for (const cron of opts.crons) {
      if (inFlight.has(cron.path) || !(opts.everyMs || cronMatches(cron.schedule, now))) continue;
      inFlight.set(cron.path, call(cron).finally(() => inFlight.delete(cron.path)));
    }
    timer = setTimeout(tick, delay());
  };
  timer = setTimeout(tick, delay());
  return async () => {
    clearTimeout(timer);
    await Promise.all(inFlight.values());
  };
}
