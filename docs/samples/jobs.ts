// The jobs and the instance that the docs' samples import (`./jobs`, or `@/lib/sluice` in the Next.js
// samples), so that each sample shows only what it is about. test/docs-samples.test.ts type-checks
// every sample against this file and the package's own sources.
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { createSluice, defineJob, PermanentError } from 'sluice';

export const helloWorld = defineJob({
  type: 'hello-world',
  payload: z.object({ name: z.string().max(200).optional() }),
  handler: async ({ name }) => {
    console.log(`Hello, ${name ?? 'world'}!`);
  },
});

export const sendEmail = defineJob({
  type: 'send-email',
  payload: z.object({ to: z.email(), subject: z.string().max(200) }),
  handler: async (payload, ctx) => {
    const res = await fetch('https://mail.example/send', { method: 'POST', body: JSON.stringify(payload), signal: ctx.signal });
    if (res.status === 422) throw new PermanentError('rejected by the mail API');
    if (!res.ok) throw new Error(`mail API answered ${res.status}`);
  },
});

export const sluice = createSluice({ jobs: [helloWorld, sendEmail] });

/** An order's approval link's signature (docs/workflows.md, "Human in the loop"). */
export function approvalSignature(orderId: string): string {
  return createHmac('sha256', process.env.APPROVAL_SECRET!).update(`approve:${orderId}`).digest('base64url');
}
