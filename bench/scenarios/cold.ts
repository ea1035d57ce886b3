import { startWsRelay } from '../../scripts/ws-relay.js';
import { round, withPort, type Context } from '../context.js';
import { runChild } from '../fork.js';
import { startRelay, type RelayStats } from '../relay.js';
import type { DrainResult } from '../systems/types.js';

export interface ColdRow {
  driver: 'pg' | 'neon';
  rttMs: number;
  /** connect() to the first handler call, in the new process (module loading excluded). */
  firstJobMs: number;
  /** firstJobMs in round trips: what the latency costs on the critical path. */
  firstJobRtts: number;
  /** connect() to drain() returned: the first job's outcome is written. */
  doneMs: number;
  doneRtts: number;
  /**
   * Round trips the relay counted up to the first handler call, and in all (connections summed): each
   * connection's TCP handshake plus each client turn (a send after the server last spoke).
   */
  roundTripsAtFirstJob: number;
  roundTrips: number;
  statements: number;
  connections: number;
  /** Spawn of the process to its result: Node, tsx and imports included (not latency-bound). */
  processWallMs: number;
  path: string;
}

/**
 * A cold drain: a new process connects, rescues, claims and runs the one job in the table, at
 * `coldRttMs`, on both drivers. Each new connection pays one simulated round trip for its TCP
 * handshake before its first byte. pg: client -> latency relay (counts turns and statements) -> Postgres.
 * neon: client -> latency relay (delays and counts the WebSocket's turns, its upgrade included) ->
 * ws relay -> counting relay (0 ms, Postgres statements) -> Postgres. TLS is not simulated (production
 * adds its handshake), and the local ws relay needs pipelineConnect off, which Neon itself does not.
 */
export async function coldDrain(ctx: Context): Promise<ColdRow[]> {
  const rtt = ctx.sizes.coldRttMs;
  const sluice = ctx.systems.find((s) => s.name === 'sluice')!;
  const pgTarget = { host: ctx.pg.host, port: ctx.pg.port };
  const rows: ColdRow[] = [];
  for (const driver of ['pg', 'neon'] as const) {
    ctx.log(`cold drain, ${driver} driver, ${rtt} ms RTT`);
    await sluice.setup.reset();
    await sluice.setup.seed(1);
    const latency = driver === 'pg'
      ? await startRelay({ target: pgTarget, rttMs: rtt, protocol: 'pg' })
      : undefined;
    const counting = driver === 'neon' ? await startRelay({ target: pgTarget, rttMs: 0, protocol: 'pg' }) : latency!;
    const ws = driver === 'neon' ? await startWsRelay() : undefined;
    const outer = ws ? await startRelay({ target: { host: '127.0.0.1', port: ws.port }, rttMs: rtt, protocol: 'raw' }) : latency!;
    const options = driver === 'neon' ? { driver, wsProxy: `127.0.0.1:${outer.port}/v2` } : { driver };
    let atFirst: RelayStats | undefined;
    try {
      const out = await runChild<DrainResult>(
        { kind: 'drain', system: 'sluice', at: { pgUrl: withPort(sluice.direct.pgUrl, counting.port) }, direct: sluice.direct, n: 1, capMs: 30_000, options },
        () => { atFirst = outer.stats(); },
      );
      const total = outer.stats();
      const r = out.result;
      const row: ColdRow = {
        driver, rttMs: rtt,
        firstJobMs: round(r.firstJobMs), firstJobRtts: round(r.firstJobMs / rtt, 2),
        doneMs: round(r.ms), doneRtts: round(r.ms / rtt, 2),
        roundTripsAtFirstJob: atFirst ? atFirst.turns + atFirst.connections : -1,
        roundTrips: total.turns + total.connections,
        statements: counting.stats().statements, connections: total.connections,
        processWallMs: Math.round(out.wallMs),
        path: driver === 'pg' ? 'pg -> latency relay -> Postgres' : 'neon (ws) -> latency relay -> ws relay -> counting relay -> Postgres',
      };
      ctx.log(`  ${driver}: first job after ${row.firstJobMs} ms = ${row.firstJobRtts} RTT (${row.roundTripsAtFirstJob} round trips counted); done after ${row.doneRtts} RTT`);
      rows.push(row);
    } finally {
      for (const relay of new Set([latency, counting, outer])) await relay?.close();
      await ws?.close();
    }
  }
  return rows;
}
