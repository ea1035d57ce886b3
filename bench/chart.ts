import type { DrainRow } from './scenarios/drain.js';

/**
 * Drain throughput against round-trip time, one line per system, as a self-contained SVG (no chart
 * library: a few dozen elements). Throughput is on a log scale: the systems differ by orders of
 * magnitude at high RTT, and a linear axis would flatten everything but the leader. "local" (no
 * relay) sits at 0 ms.
 */
const W = 720;
const H = 380;
const PAD = { left: 70, right: 240, top: 30, bottom: 50 };
const COLORS: Record<string, string> = { sluice: '#0b7285', 'pg-boss': '#e8590c', 'graphile-worker': '#7048e8', bullmq: '#c92a2a' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function throughputSvg(rows: DrainRow[], date: string): string {
  // The 0 ms counting run exists to count statements; it is not a point of the curve.
  const points = rows.filter((r) => r.rttMs !== 0 && r.jobsPerSec > 0);
  const labels = [...new Set(points.map((r) => r.label))];
  const rtts = [...new Set(points.map((r) => r.rttMs ?? 0))].sort((a, b) => a - b);
  const maxRtt = Math.max(...rtts, 1);
  const values = points.map((r) => r.jobsPerSec);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (rtt: number) => PAD.left + (rtt / maxRtt) * plotW;
  const y = (v: number) => PAD.top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.left}" y="18" font-size="14" font-weight="600">Drain throughput vs round-trip time (${esc(date)})</text>`,
  ];
  // Horizontal grid at 1, 2 and 5 of each decade, labelled at the decades.
  for (let decade = lo; decade < hi * 1.0001; decade *= 10) {
    for (const k of [1, 2, 5]) {
      const v = decade * k;
      if (v > hi * 1.0001) break;
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${yy}" y2="${yy}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#555">${v.toLocaleString('en')}</text>`);
    }
  }
  for (const rtt of rtts) {
    out.push(`<line x1="${x(rtt)}" x2="${x(rtt)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x(rtt)}" y="${PAD.top + plotH + 18}" text-anchor="middle" fill="#555">${rtt === 0 ? 'local' : `${rtt} ms`}</text>`);
  }
  out.push(`<text x="${PAD.left + plotW / 2}" y="${H - 10}" text-anchor="middle">round-trip time to the database (latency relay)</text>`);
  out.push(`<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">jobs / second (log scale)</text>`);
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);

  labels.forEach((label, i) => {
    const series = points.filter((r) => r.label === label).sort((a, b) => (a.rttMs ?? 0) - (b.rttMs ?? 0));
    const system = series[0]!.system;
    const color = COLORS[system] ?? '#333';
    const tuned = label !== system; // extra rows with non-default settings are dashed
    const path = series.map((r, j) => `${j ? 'L' : 'M'}${x(r.rttMs ?? 0).toFixed(1)},${y(r.jobsPerSec).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="${system === 'sluice' && !tuned ? 3 : 2}"${tuned ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const r of series) out.push(`<circle cx="${x(r.rttMs ?? 0).toFixed(1)}" cy="${y(r.jobsPerSec).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(label)}: ${r.jobsPerSec} jobs/s at ${r.rttMs ?? 0} ms</title></circle>`);
    const ly = PAD.top + 10 + i * 34;
    const lx = PAD.left + plotW + 14;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"${tuned ? ' stroke-dasharray="6 4"' : ''}/>`);
    const [name, detail] = tuned ? [system, label.slice(system.length).trim()] : [label, ''];
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(name)}</text>`);
    if (detail) out.push(`<text x="${lx + 28}" y="${ly + 14}" dominant-baseline="middle" font-size="10" fill="#555">${esc(detail)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
