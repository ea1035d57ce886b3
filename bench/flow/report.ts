import type { Flow } from '../scenarios/flow.js';

/** The flow scenario's section of latest.md, and so of README's Performance section. */

const fmt = (x: number, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits });

export function flowLines(f: Flow): string[] {
  const lines = ['', `**Per-key concurrency limit**: ${fmt(f.jobs)} jobs of ${f.jobMs} ms (a timer) spread evenly over ${fmt(f.keys)} keys in shuffled order, drained by one process running ${f.concurrency} at once, one drain per row through a 0 ms counting relay. "Max per key" is the most jobs of one key running at once, counted in the handlers. graphile-worker's equivalent of a limit of 1 is a named queue per key (its performance-page settings, ${f.concurrency} concurrent jobs); pg-boss's is \`groupConcurrency\` on jobs sent with a group id, its handler given batches of ${f.concurrency} by one fetch loop (the group count is read at each fetch, so two loops could each start a job of one group).`, ''];
  lines.push('| system | jobs/s | vs its no-limit row | max per key | handlers busy (avg / peak) | time with none running | statements / job |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of f.rows) {
    const held = r.limitHeld === false ? ` (**over ${r.limit}**)` : '';
    lines.push(`| ${r.label} | ${fmt(r.jobsPerSec)}${r.capped ? ' (capped)' : ''} | ${r.vsNoLimit === undefined ? '–' : `${r.vsNoLimit}x`} | ${r.maxPerKey}${held} | ${fmt(r.avgRunning, 1)} / ${r.peakRunning} | ${fmt(r.idleMs)} ms | ${r.statementsPerJob} |`);
  }
  const peers = Object.entries(f.limit1VsPeers).map(([system, x]) => `**${x}x** ${system}'s`);
  if (peers.length) lines.push('', `Sluice with a limit of 1 per key: ${peers.join(', ')} jobs/s.`);
  const limited = f.rows.filter((r) => r.system === 'sluice' && r.limit !== null && r.claims);
  const claimLines = f.rows.filter((r) => r.system === 'sluice' && r.claims).map((r) => {
    const c = r.claims!;
    return `${r.label.replace('sluice, ', '')}: ${fmt(c.count)} claims of ${fmt(c.jobs / Math.max(1, c.count))} jobs on average, ${fmt(c.heldBack)} holding jobs back, ${fmt(c.ms)} ms on the wire, ${fmt(r.idleMs)} ms with no handler running`;
  });
  if (claimLines.length) lines.push('', `Sluice's claims: ${claimLines.join('; ')}.`);
  // Said only while the figures show it: the idle time of the limited rows is their claims' time.
  if (limited.length && limited.every((r) => r.idleMs >= 0.5 * r.claims!.ms)) {
    lines.push('A claim that holds jobs back returns fewer than it asked for, and after such a claim a pass claims again only once its handlers are done; so under a limit each claim is waited for with no handler running, which is most of what the limit costs here.');
  }
  return lines;
}
