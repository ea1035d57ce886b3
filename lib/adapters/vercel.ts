/** @module sluice/vercel */
import { methodHandlers, type FetchApp, type MethodHandlers } from './web.js';

/**
 * Vercel functions (`api/*.ts`): the Web handlers of one Sluice app, one per HTTP method. Each file
 * under api/ re-exports them; the app routes by the request's path, so every file serves its own path.
 *
 *   export const { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } = vercelHandlers(sluice);
 */
export function vercelHandlers(app: FetchApp): MethodHandlers {
  return methodHandlers(app);
}

export type { FetchApp, MethodHandlers };
