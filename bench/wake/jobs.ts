import { z } from 'zod';
import { defineJob } from '../../lib/queue/index.js';

/** Set by the bench app (app.ts) to follow how many handlers run at once; unset in the parent. */
export const handlerHooks: { started?: () => void; ended?: () => void } = {};

/**
 * The job type of the bench-only app (app.ts): 5 ms of waiting, as the backlog asks. The
 * parent seeds it directly (enqueueMany on its own connection), so it shares this definition.
 */
export const sleep5 = defineJob({
  type: 'sleep5',
  payload: z.object({}),
  timeoutMs: 10_000,
  handler: async () => {
    handlerHooks.started?.();
    try {
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    } finally {
      handlerHooks.ended?.();
    }
  },
});
