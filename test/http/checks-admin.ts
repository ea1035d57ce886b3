// Admin: listing, one job, retry, cancel, stats, caching and the admin secret. Registered by httpSuite (suite.ts) for each runtime.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SECRETS, welcome, type SuiteContext } from './context.js';

export function adminChecks(t: SuiteContext): void {
  const { admin, enqueueOne, deadJob, expect401, expect405, expectIssues } = t;
  describe('admin: GET /api/jobs', () => {
    it('pages through jobs newest first with nextCursor, filtered by status and type', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await enqueueOne());
      const seen: string[] = [];
      let cursor = '';
      for (let page = 0; page < 3; page++) {
        const res = await admin('GET', `/api/jobs?limit=2${cursor && `&cursor=${cursor}`}`);
        expect(res.status, res.text).toBe(200);
        expect(res.json.jobs.length).toBeLessThanOrEqual(2);
        seen.push(...res.json.jobs.map((j: { id: string }) => j.id));
        cursor = res.json.nextCursor;
        if (page < 2) expect(cursor).toEqual(expect.any(String)); // opaque
      }
      expect(cursor).toBeNull();
      expect(seen).toEqual([...ids].sort().reverse()); // ids are UUIDv7: id order is creation order
      const dead = await deadJob();
      const filtered = await admin('GET', '/api/jobs?status=dead&type=send-welcome-email');
      expect(filtered.json.jobs.map((j: { id: string }) => j.id)).toEqual([dead]);
      expect((await admin('GET', '/api/jobs?type=other')).json).toEqual({ jobs: [], nextCursor: null });
    });

    it.each([['limit=0'], ['limit=abc'], ['limit=501'], ['status=done'], ['cursor=xyz'], ['colour=red'], ['status=dead&status=pending']])(
      'answers ?%s 400 with the zod issues', async (query) => {
        expectIssues(await admin('GET', `/api/jobs?${query}`));
      });

    it.each([['type=%00'], ['type=a%00b'], ['status=%00'], ['cursor=%00']])('answers ?%s 400, not 500', async (query) => {
      const res = await admin('GET', `/api/jobs?${query}`);
      expect(res.status, res.text).toBe(400);
    });
  });

  describe('admin: one job', () => {
    it('GET /api/jobs/:id shows the job without its lease token; 404 unknown, 400 malformed', async () => {
      const id = await enqueueOne({ idempotencyKey: 'welcome:u1' });
      const res = await admin('GET', `/api/jobs/${id}`);
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ id, type: 'send-welcome-email', status: 'pending', attempts: 0, maxAttempts: 5, idempotencyKey: 'welcome:u1' });
      expect(res.json).not.toHaveProperty('lockToken');
      expect(new Date(res.json.createdAt).toISOString()).toBe(res.json.createdAt);
      const missing = await admin('GET', `/api/jobs/${randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ code: 'job_not_found' });
      expect((await admin('GET', '/api/jobs/not-a-uuid')).status).toBe(400);
    });

    it('takes the id from the path, not from a query parameter', async () => {
      const id = await enqueueOne();
      const other = await enqueueOne();
      const res = await admin('GET', `/api/jobs/${id}?id=${other}`);
      expect(res.status, res.text).toBe(200);
      expect(res.json.id).toBe(id);
    });

    it('POST /api/jobs/:id/retry: a dead job back to pending, due now, attempts reset; 409 otherwise; 404', async () => {
      const id = await deadJob();
      expect(await t.db.jobRow(id)).toMatchObject({ status: 'dead', attempts: 1 });
      const res = await admin('POST', `/api/jobs/${id}/retry`);
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ id, status: 'pending', attempts: 0 });
      expect((await t.db.jobRow(id))!.due_in_ms).toBeLessThanOrEqual(0);
      const again = await admin('POST', `/api/jobs/${id}/retry`);
      expect(again.status, again.text).toBe(409);
      expect(again.json).toMatchObject({ code: 'job_state_conflict', status: 'pending' });
      expect((await admin('POST', `/api/jobs/${randomUUID()}/retry`)).status).toBe(404);
      expect((await admin('POST', '/api/jobs/not-a-uuid/retry')).status).toBe(400);
    });

    it('DELETE /api/jobs/:id cancels a pending or dead job; a running one is asked to stop', async () => {
      const pending = await enqueueOne();
      const cancelled = await admin('DELETE', `/api/jobs/${pending}`);
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(cancelled.json.cancelled).toMatchObject({ id: pending, status: 'cancelled' });
      expect((await admin('DELETE', `/api/jobs/${pending}`)).status).toBe(409);
      const dead = await deadJob();
      expect((await admin('DELETE', `/api/jobs/${dead}`)).status).toBe(200);
      const running = await enqueueOne();
      await t.db.markRunning(running);
      const asked = await admin('DELETE', `/api/jobs/${running}`);
      expect(asked.status, asked.text).toBe(200);
      expect(asked.json.cancelled).toMatchObject({ id: running, status: 'running', cancelRequestedAt: expect.any(String) });
      expect((await admin('POST', `/api/jobs/${running}/retry`)).status).toBe(409);
      expect(await t.db.jobRow(running)).toMatchObject({ status: 'running' });
    });

    it('answers other methods 405 with Allow', async () => {
      const id = await enqueueOne();
      expect405(await admin('POST', `/api/jobs/${id}`), ['GET', 'DELETE']);
      expect405(await admin('PUT', `/api/jobs/${id}`), ['GET', 'DELETE']);
      expect405(await admin('GET', `/api/jobs/${id}/retry`), ['POST']);
      expect405(await admin('DELETE', `/api/jobs/${id}/retry`), ['POST']);
      expect(await t.db.jobRow(id)).toMatchObject({ status: 'pending' });
    });
  });

  describe('admin: GET /api/queue/stats', () => {
    it('counts jobs by status and type', async () => {
      await enqueueOne();
      await enqueueOne();
      await deadJob();
      const res = await admin('GET', '/api/queue/stats');
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({
        pending: 2, running: 0, dead: 1, oldestPendingAgeMs: expect.any(Number),
        byType: { 'send-welcome-email': { pending: 2, dead: 1 } },
      });
    });

    it('answers other methods 405 with Allow', async () => {
      expect405(await admin('POST', '/api/queue/stats'), ['GET']);
    });
  });

  describe('admin answers are not cached', () => {
    it('GET /api/jobs, GET /api/jobs/:id, retry, DELETE and stats answer Cache-Control: no-store', async () => {
      const id = await deadJob();
      const other = await enqueueOne();
      const answers = {
        list: await admin('GET', '/api/jobs'),
        get: await admin('GET', `/api/jobs/${id}`),
        retry: await admin('POST', `/api/jobs/${id}/retry`),
        cancel: await admin('DELETE', `/api/jobs/${other}`),
        stats: await admin('GET', '/api/queue/stats'),
        notFound: await admin('GET', `/api/jobs/${randomUUID()}`),
      };
      const cacheControl = Object.fromEntries(Object.entries(answers).map(([k, res]) => [k, `${res.status} ${res.headers.get('cache-control')}`]));
      expect(cacheControl).toEqual({
        list: '200 no-store', get: '200 no-store', retry: '200 no-store', cancel: '200 no-store', stats: '200 no-store', notFound: '404 no-store',
      });
    });
  });

  describe('admin routes need ADMIN_SECRET', () => {
    const routes = [['GET', '/api/jobs'], ['GET', '/api/jobs/:id'], ['DELETE', '/api/jobs/:id'], ['POST', '/api/jobs/:id/retry'], ['GET', '/api/queue/stats']];
    it.each(routes)('%s %s: 401 with WWW-Authenticate: Bearer for no token or another secret, job untouched', async (method, path) => {
      const id = await enqueueOne();
      for (const token of [null, 'wrong', SECRETS.ENQUEUE_SECRET, SECRETS.CRON_SECRET]) {
        expect401(await admin(method, path.replace(':id', id), token));
      }
      expect(await t.db.jobRow(id)).toMatchObject({ status: 'pending', attempts: 0 });
    });
  });
}
