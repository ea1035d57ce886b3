import { sql } from 'drizzle-orm';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { AddressInfo } from 'node:net';
import { serve } from '../../lib/adapters/node.js';
import { sluice } from '../../lib/app/sluice.js';
import { resetConfig } from '../../lib/queue/index.js';
import { QUIET, SECRETS } from '../http/context.js';
import { client } from '../http/support.js';
import { freshDatabase } from './db.js';

/** The secrets the in-process API tests run with: the shared HTTP suite's. */
export { SECRETS };

/** Sets (or, for undefined, deletes) environment variables and makes config() read them again. */
export function setEnv(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
}

/**
 * This repository's app (lib/app/sluice.ts, what api/ and npm run dev serve) over real HTTP by the
 * Node adapter, in this process, on a free port, against a fresh migrated database of this test file.
 * Each test file runs in its own process, so setting process.env here touches no other file.
 */
export async function startApi(env: Record<string, string | undefined> = {}) {
  const conn = await freshDatabase('pg');
  setEnv({ ...SECRETS, ...QUIET, DRAIN_SECRET: undefined, EMAIL_WEBHOOK_URL: undefined, DATABASE_URL: conn.url, ...env });
  const server = await serve(sluice, { port: 0 });
  const call = client(server.url);
  return {
    url: server.url,
    conn,
    db: conn.db,
    call,
    close: async () => {
      await server.close();
      await sluice.close();
      await conn.close();
    },
  };
}

/** A local HTTP server standing in for an email provider's webhook: records every post, answers `status`. */
export async function startWebhook(status = 200) {
  const received: { body: unknown }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    received.push({ body: JSON.parse(text) });
    res.writeHead(webhook.status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const webhook = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    received,
    /** What the next posts are answered; tests change it. */
    status,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return webhook;
}

/** startApi with a recording webhook as EMAIL_WEBHOOK_URL. */
export async function startApiWithWebhook(status = 200) {
  const webhook = await startWebhook(status);
  const api = await startApi({ EMAIL_WEBHOOK_URL: webhook.url });
  return { api, webhook, close: async () => { await api.close(); await webhook.close(); } };
}

/**
 * For a test file of instances made in the test itself: one fresh database for the file, a recording
 * webhook for each test, and these tables of the schema sluice emptied before each. Read them when a
 * test runs (the getters), not when the file loads.
 */
export function databaseAndWebhook(tables: string[]) {
  let conn: Awaited<ReturnType<typeof freshDatabase>>;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  beforeAll(async () => { conn = await freshDatabase('pg'); });
  afterAll(async () => { await conn?.close(); });
  beforeEach(async () => {
    webhook = await startWebhook();
    for (const table of tables) await conn.db.execute(sql.raw(`delete from sluice.${table}`));
  });
  afterEach(async () => { await webhook.close(); });
  return { get conn() { return conn; }, get webhook() { return webhook; } };
}
