/** @module sluice/next */
import { after } from 'next/server.js'; // the file: Node's ESM loader needs it, as next has no exports map
import { methodHandlers, type FetchApp, type MethodHandlers } from './web.js';

/**
 * A Next.js App Router route file mounting Sluice: `app/api/[...sluice]/route.ts` serves every Sluice
 * path under /api (a more specific route file of the app, like app/api/signup/route.ts, still wins).
 * Kicks run in Next's after(), which outlives the response on Vercel and on `next start` alike.
 *
 *   export const { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } = nextHandlers(sluice);
 */
export function nextHandlers(app: FetchApp): MethodHandlers {
  return methodHandlers(app, { waitUntil: (work) => after(work) });
}

export type { FetchApp, MethodHandlers };
