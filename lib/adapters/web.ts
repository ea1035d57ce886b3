import type { SluiceBindings } from '../http/app.js';

/** Anything that answers a Web Request: an instance from createSluice(), or a Hono app built on one. */
export interface FetchApp {
  fetch(request: Request, env?: SluiceBindings): Response | Promise<Response>;
}

/** A Web handler for each HTTP method, as file-based routers (Vercel functions, Next.js route files) want them. */
export interface MethodHandlers {
  GET: (request: Request) => Promise<Response>;
  POST: (request: Request) => Promise<Response>;
  PUT: (request: Request) => Promise<Response>;
  PATCH: (request: Request) => Promise<Response>;
  DELETE: (request: Request) => Promise<Response>;
  HEAD: (request: Request) => Promise<Response>;
  OPTIONS: (request: Request) => Promise<Response>;
}

/**
 * Every method answered by `app`. Every method, not just the ones Sluice serves, so the app answers
 * the others itself (405 with Allow) instead of the platform. No deadline binding: without one the
 * drain routes read Vercel's own (getDeadline()), which is what both Vercel and Next.js on Vercel give.
 */
export function methodHandlers(app: FetchApp, bindings: SluiceBindings = {}): MethodHandlers {
  const handle = async (request: Request) => app.fetch(request, bindings);
  return { GET: handle, POST: handle, PUT: handle, PATCH: handle, DELETE: handle, HEAD: handle, OPTIONS: handle };
}
