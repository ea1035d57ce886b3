import type { Bigtable, DrainFigure, Paired } from '../scenarios/bigtable.js';
import { MIX_SHARES } from './types.js';

/** The issue's goal for every ratio: a drain beside those rows at least this share of a clean table's speed. */
export const GOAL = 0.8;

const n = (x: number, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits });
const pct = (share: number) => `${Math.round(share * 100)} %`;
const ratio = (x: number) => (x >= GOAL ? `${x.toFixed(2)}x` : `**${x.toFixed(2)}x**`);
const drain = (f: DrainFigure) => `${n(f.jobsPerSec)}${f.capped ? ' (capped)' : ''}${f.claims ? ` (${f.claims.count} claims, ${f.claims.meanMs} ms each)` : ''}`;
const pair = (p: Paired) => `${drain(p.clean)} | ${drain(p.loaded)} | ${ratio(p.ratio)}`;

/** The big-table section: the year-old table, stats and health, the skews, and how each system holds them. */
export function bigtableLines(b: Bigtable): string[] {
  const s = b.sizes;
  const lines = [
    '',
    `**Big table** (issue 17): each system's job table filled as a year of use leaves it, ${n(s.rows)} rows set-based in its own tables and indexes: ` +
      `${pct(MIX_SHARES.finished)} finished jobs (only pg-boss keeps them; Sluice and graphile-worker delete a job that succeeds, so in their tables this share is dead jobs), ` +
      `${pct(MIX_SHARES.dead)} dead, ${pct(MIX_SHARES.scheduled)} of the drained type scheduled up to a month ahead, ${pct(MIX_SHARES.other)} due jobs of ten types of another app, ` +
      `${pct(MIX_SHARES.paused)} due jobs of a paused type. Every figure is measured beside the same system's clean table (a database of its own), alternately: ` +
      `drains of ${n(s.drainJobs)} no-op jobs enqueued through the system's API, each in a process of its own, timed from its start to the last completion persisted (best of ${s.repeats}); ` +
      `claims of the system's own batch (median of ${s.claimSamples}); stats and health calls (median of ${s.statsSamples}). Both tables are vacuumed before each drain; autovacuum is off on them.`,
    '',
    '| system | table: rows, size with indexes (fill) | drain, clean table (jobs/s) | drain, big table | big / clean | claim of | claim, clean | claim, big table |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of b.systems) {
    lines.push(`| ${r.system} | ${n(r.table.rows)} rows, ${n(r.table.mb)} MB (${n(r.fillSec)} s) | ${pair(r.drain)} | ${r.claim.batch} | ${r.claim.clean.medianMs} ms | ${r.claim.loaded.medianMs} ms |`);
  }
  lines.push('', '| system | stats / health call | clean table | big table |', '| --- | --- | ---: | ---: |');
  for (const r of b.systems) {
    for (const x of r.readings) lines.push(`| ${r.system} | ${x.label} | ${x.clean.medianMs} ms | ${x.loaded.medianMs} ms |`);
    if (!r.readings.some((x) => x.kind === 'health')) lines.push(`| ${r.system} | health: none | – | – |`);
  }
  lines.push(
    '',
    `**Skews**, each alone in an otherwise empty table beside the clean one, the same drain (goal: at least ${GOAL}x of the clean table's speed):`,
    '',
    '| the table also holds | system | clean table (jobs/s) | with the skew | ratio |',
    '| --- | --- | ---: | ---: | ---: |',
  );
  const skews = b.systems[0]?.skews.map((x) => x.skew) ?? [];
  for (const skew of skews) {
    for (const r of b.systems) {
      const x = r.skews.find((y) => y.skew === skew)!;
      lines.push(`| ${x.what} | ${r.system} | ${x.drain ? pair(x.drain) : `n/a: ${x.na} | – | –`} |`);
    }
  }
  lines.push('');
  for (const r of b.systems) lines.push(`- ${r.system} (${n(r.sec)} s in all): ${r.notes.join('; ')}.`);
  for (const r of b.systems.filter((x) => x.claim.plan)) {
    lines.push('', `<details><summary>${r.system}: the claim's plan on the big table (EXPLAIN ANALYZE, BUFFERS; rolled back)</summary>`, '', '```', r.claim.plan!.loaded, '```', '', '</details>');
  }
  return lines;
}
