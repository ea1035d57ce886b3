import { connect, createServer, type Socket } from 'node:net';

/**
 * A latency relay: a TCP proxy that holds every chunk for half the round trip in each direction,
 * in order, to make a local server look like a managed database seen from a serverless function.
 * A new connection also pays one extra round trip before its first byte goes through (the TCP
 * handshake a real network would cost). It counts what the client sends, parsed by protocol:
 *   pg:    'Q' simple queries and 'E' extended-protocol executions are statements; 'S' syncs.
 *   redis: each RESP command array is a command (BullMQ's Lua scripts are one command each).
 * `turns` counts client round trips without parsing anything: a client chunk that arrives after
 * the server last spoke on that connection (or first on it) starts a turn. Pipelined statements
 * share a turn, so turns are what latency is paid for.
 */
export type Protocol = 'pg' | 'redis' | 'raw';

export interface RelayStats {
  connections: number;
  turns: number;
  /** pg: Q + E. redis: commands. raw: 0. */
  statements: number;
  simpleQueries: number;
  executes: number;
  syncs: number;
  bytesUp: number;
  bytesDown: number;
}

export interface Relay {
  port: number;
  rttMs: number;
  stats(): RelayStats;
  reset(): void;
  close(): Promise<void>;
}

const emptyStats = (): RelayStats => ({
  connections: 0, turns: 0, statements: 0, simpleQueries: 0, executes: 0, syncs: 0, bytesUp: 0, bytesDown: 0,
});

/** A one-way pipe that writes each chunk `delayMs` after it arrived, never before an earlier chunk. */
function delayedPipe(to: Socket, delayMs: number, notBefore: number) {
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    // Timers fire up to ~1 ms early or late; anything due within half a millisecond goes now.
    while (queue.length > 0 && queue[0]!.due <= now + 0.5) to.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.due - now);
  };
  return (chunk: Buffer) => {
    if (delayMs === 0 && queue.length === 0 && performance.now() >= notBefore) return void to.write(chunk);
    const last = queue.at(-1)?.due ?? 0;
    queue.push({ due: Math.max(performance.now() + delayMs, notBefore, last), chunk });
    timer ??= setTimeout(flush, queue[0]!.due - performance.now());
  };
}

/** Passes over up to `state.skip` bytes of `chunk` from `i`; returns where reading goes on. */
function skipBody(state: { skip: number }, chunk: Buffer, i: number): number {
  const n = Math.min(state.skip, chunk.length - i);
  state.skip -= n;
  return i + n;
}

/** Counts Postgres frontend messages in a byte stream that may split them anywhere. */
function pgCounter(stats: RelayStats) {
  let startup = true; // the first message (and SSL/GSS requests) has no type byte
  const header = Buffer.alloc(8);
  let have = 0; // header bytes collected
  const body = { skip: 0 }; // body bytes left to pass over
  return (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (body.skip > 0) { i = skipBody(body, chunk, i); continue; }
      const want = startup ? 8 : 5;
      const n = Math.min(want - have, chunk.length - i);
      chunk.copy(header, have, i, i + n);
      have += n;
      i += n;
      if (have < want) break;
      have = 0;
      if (startup) {
        const length = header.readInt32BE(0);
        const code = header.readInt32BE(4);
        // 80877103 SSLRequest, 80877104 GSSENCRequest: the real startup message follows.
        if (code !== 80877103 && code !== 80877104) startup = false;
        body.skip = length - 8;
      } else {
        const type = String.fromCharCode(header[0]!);
        if (type === 'Q') stats.simpleQueries++;
        else if (type === 'E') stats.executes++;
        else if (type === 'S') stats.syncs++;
        stats.statements = stats.simpleQueries + stats.executes;
        body.skip = header.readInt32BE(1) - 4;
      }
    }
  };
}

/** Counts RESP command arrays: `*<n>\r\n` followed by n bulk strings `$<len>\r\n<bytes>\r\n`. */
function redisCounter(stats: RelayStats) {
  let line = '';
  let items = 0; // bulk strings left in the current command
  const bulk = { skip: 0 }; // bytes of a bulk string (plus its \r\n) left
  return (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (bulk.skip > 0) { i = skipBody(bulk, chunk, i); continue; }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) { line += chunk.toString('latin1', i); break; }
      line += chunk.toString('latin1', i, nl);
      i = nl + 1;
      const text = line.trimEnd();
      line = '';
      if (text.startsWith('*')) { stats.statements++; items = Number(text.slice(1)); }
      else if (text.startsWith('$') && items > 0) { items--; bulk.skip = Number(text.slice(1)) + 2; }
      else if (text.length > 0) stats.statements++; // inline command (redis-cli style)
    }
  };
}

export async function startRelay(opts: {
  target: { host: string; port: number };
  rttMs: number;
  protocol: Protocol;
}): Promise<Relay> {
  const stats = emptyStats();
  const half = opts.rttMs / 2;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const s = stats; // reset() zeroes it in place, so connections that outlive a reset still count
    s.connections++;
    // The upstream connect is local and instant; the simulated handshake is one round trip of delay.
    const ready = performance.now() + opts.rttMs;
    const upstream = connect(opts.target);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const sock of [client, upstream]) {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    }
    const count = opts.protocol === 'pg' ? pgCounter(s) : opts.protocol === 'redis' ? redisCounter(s) : () => {};
    const up = delayedPipe(upstream, half, ready);
    const down = delayedPipe(client, half, 0);
    let serverSpoke = true;
    client.on('data', (chunk: Buffer) => {
      if (serverSpoke) s.turns++;
      serverSpoke = false;
      s.bytesUp += chunk.length;
      count(chunk);
      up(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      serverSpoke = true;
      s.bytesDown += chunk.length;
      down(chunk);
    });
    // Closing waits for the delayed bytes already in flight, like a real FIN behind the data.
    client.on('end', () => setTimeout(() => upstream.end(), half + 1));
    upstream.on('end', () => setTimeout(() => client.end(), half + 1));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    rttMs: opts.rttMs,
    stats: () => ({ ...stats }),
    reset: () => void Object.assign(stats, emptyStats()),
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}
