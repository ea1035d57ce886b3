import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on loopback, as the kernel hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Variables a runtime under test must not inherit from the test process: everything Sluice reads
 * (the suite sets exactly what it wants) and the test runner's own.
 */
const NOT_INHERITED = /^(DATABASE_URL|DATABASE_DRIVER|NEON_WS_PROXY|PORT|HOST|NODE_ENV|EMAIL_WEBHOOK_URL|HEALTH_SECRET|[A-Z]+_SECRET|SLUICE_.*|ALERT_.*|DRAIN_.*|VITEST.*|TINYPOOL.*|npm_(package|lifecycle)_.*)$/;

/** The test process's environment without Sluice's settings, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !NOT_INHERITED.test(k)));
  return { ...inherited, ...env };
}

export interface Server {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Stops its whole process group: `signal`, then SIGKILL after `graceMs`. */
  close(): Promise<void>;
}

/**
 * Spawns a server in its own process group (so stopping it stops everything it started) and waits
 * until `url + readyPath` answers HTTP at all (any status), failing early with its output if it exits.
 */
export async function spawnServer(opts: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  url: string;
  readyPath?: string;
  /** Also wait until the output matches this. */
  readyOutput?: RegExp;
  /** Output that means it will never be ready: fail at once with this explanation. */
  failOn?: { output: RegExp; explain: string };
  readyTimeoutMs?: number;
  stopSignal?: NodeJS.Signals;
  graceMs?: number;
}): Promise<Server> {
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  const close = async () => {
    kill(opts.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), opts.graceMs ?? 10_000);
    await closed;
    clearTimeout(timer);
    kill('SIGKILL'); // whatever the leader left behind in its group
  };
  const until = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  try {
    for (;;) {
      if (!alive()) throw new Error(`${opts.name} exited before it answered:\n${output}`);
      if (opts.failOn?.output.test(output)) throw new Error(`${opts.name}: ${opts.failOn.explain}\n${output}`);
      if (Date.now() > until) throw new Error(`${opts.name} did not answer ${opts.url} within ${opts.readyTimeoutMs ?? 120_000} ms:\n${output}`);
      if (!opts.readyOutput || opts.readyOutput.test(output)) {
        const answered = await fetch(opts.url + (opts.readyPath ?? '/'), { signal: AbortSignal.timeout(60_000) }).then(
          async (res) => (await res.arrayBuffer(), true),
          () => false,
        );
        if (answered) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { url: opts.url, child, output: () => output, close };
}
