import { after } from 'next/server';
import { errorResponse, jsonBody } from 'sluice';
import { sluice } from '@/lib/sluice';
import { signUp, signupSchema } from '@/lib/users';

/**
 * POST /api/signup { email, name }: 202 { accepted: true }, the user and their welcome email enqueued in
 * one transaction, which a kick starts once the response is sent; the same answer for a taken email,
 * so it never says whether an address has an account. 400 bad JSON (or nested absurdly deep) or zod
 * issues, 413 over SLUICE_MAX_BODY_BYTES, 415 not JSON: Sluice's jsonBody/errorResponse, so bad input never becomes a 500.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    const input = await jsonBody(request, signupSchema, { limit: sluice.settings().SLUICE_MAX_BODY_BYTES });
    await signUp(input);
    // The transaction has committed: start the welcome email now, after the response, not at the next cron tick.
    after(() => sluice.kick());
    return Response.json({ accepted: true }, { status: 202 });
  } catch (error) {
    return errorResponse(error);
  }
}

/** Other methods: 405 with Allow, as Sluice's own routes answer them (Next's default 405 has no Allow). */
async function notAllowed(request: Request): Promise<Response> {
  return Response.json({ error: `method ${request.method} not allowed; use POST` }, { status: 405, headers: { Allow: 'POST', 'Cache-Control': 'no-store' } });
}
export { notAllowed as GET, notAllowed as HEAD, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE, notAllowed as OPTIONS };
