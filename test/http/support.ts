import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

/** What an HTTP call answered, body read as text and, where it parses, as JSON. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface CallOptions {
  token?: string;
  /** Sent as JSON with Content-Type: application/json (unless headers say otherwise). */
  json?: unknown;
  /** Sent as is. */
  body?: string | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  /** 'manual' to see a redirect itself (the dashboard's login answers 303). Default: follow. */
  redirect?: RequestRedirect;
}

/** A client of one base URL; nothing but fetch, as any HTTP client of Sluice would be. */
export function client(baseUrl: string) {
  return async function call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    const init = { method, headers, body, redirect: opts.redirect, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit;
    const res = await fetch(baseUrl + path, init);
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}
export type Call = ReturnType<typeof client>;

/**
 * A local HTTP server standing in for the email provider (EMAIL_WEBHOOK_URL): records every post and
 * answers `status`, which tests change (a 400 makes the welcome job fail permanently: dead at once).
 */
export async function startWebhook() {
  const received: unknown[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    try {
      received.push(JSON.parse(text));
    } catch {
      received.push(text);
    }
    res.writeHead(webhook.status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const webhook = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    received,
    status: 200,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return webhook;
}
export type Webhook = Awaited<ReturnType<typeof startWebhook>>;

/**
 * The suite's own view of the runtime's database: plain SQL over `pg`, independent of lib/. The jobs
 * table is sluice.jobs; `jobs` (public) is looked up too while that move has not landed everywhere.
 */
export async function openDatabase(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const query = async <T = Record<string, unknown>>(text: string, values: unknown[] = []) => (await pool.query(text, values)).rows as T[];
  const [found] = await query<{ table: string | null }>(`select coalesce(to_regclass('sluice.jobs'), to_regclass('public.jobs'))::text as table`);
  if (!found?.table) throw new Error(`no sluice.jobs table in ${url}: was the database migrated?`);
  const jobs = found.table;
  return {
    query,
    jobsTable: jobs,
    /** Jobs in the table, optionally only those matching a SQL condition. */
    countJobs: async (where = 'true', values: unknown[] = []) =>
      (await query<{ n: number }>(`select count(*)::int as n from ${jobs} where ${where}`, values))[0]!.n,
    jobRow: async (id: string) =>
      (await query<{ id: string; type: string; status: string; attempts: number; priority: number; payload: unknown; due_in_ms: number }>(
        `select id, type, status, attempts, priority, payload, (extract(epoch from run_after - now()) * 1000)::float8 as due_in_ms
         from ${jobs} where id = $1`,
        [id],
      ))[0],
    deleteAllJobs: () => query(`delete from ${jobs}`),
    /** What a drain's claim does to a job: running, one attempt used, a lease held for an hour. */
    markRunning: (id: string) =>
      query(
        `update ${jobs} set status = 'running', attempts = attempts + 1, lock_token = gen_random_uuid(),
                locked_until = now() + interval '1 hour', started_at = now() where id = $1 and status = 'pending'`,
        [id],
      ),
    close: () => pool.end(),
  };
}
export type SuiteDb = Awaited<ReturnType<typeof openDatabase>>;

/** `depth` nested arrays: [[[...]]]. */
export const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** `depth` nested objects: {"a":{"a":...{}}}. */
export const deepObject = (depth: number) => '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth);
