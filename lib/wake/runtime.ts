import { waitUntil as vercelWaitUntil } from '@vercel/functions';
import { z } from 'zod';
import type { Config } from '../queue/index.js';

/** Why a drain runs: the cron tick, a kick after an enqueue, or a hand-over from another drain. */
export type DrainReason = 'tick' | 'kick' | 'fanout' | 'continue';

/** What a drain started in a fresh invocation is told: its place in a chain, and the slot it holds. */
export interface DrainStart {
  reason: Exclude<DrainReason, 'tick'>;
  /** 0 for a kick; 1 for a drain a tick fanned out; one more for each continuation. */
  hop: number;
  /** The drain slot it holds (queries-coordination.ts), or null. */
  slot: number | null;
}

/** A DrainStart as it arrives from outside (POST /api/drain { start }, a Lambda event's `sluice`). */
export const drainStartSchema = z.strictObject({
  reason: z.enum(['kick', 'fanout', 'continue']),
  hop: z.number().int().min(0).max(1000),
  slot: z.number().int().min(1).max(64).nullable(),
});

/** Starts a drain in a fresh invocation; resolves once the platform has accepted it (not when it ends). */
export type StartDrain = (start: DrainStart) => Promise<void>;

/** What the platform under a request (or a user's own call) offers for work beyond the response. */
export interface WakeRuntime {
  /** Keeps the invocation alive for `work` after the response, where the platform allows. */
  waitUntil(work: Promise<unknown>): void;
  /** false on AWS Lambda, which freezes an instance once it has answered. */
  runsAfterResponse: boolean;
  /** How to start a drain in a fresh invocation; undefined when there is none (then the next tick drains). */
  startDrain?: StartDrain;
}

/** The drain secret a self-call sends: DRAIN_SECRET, else CRON_SECRET, the first value while rotating. */
const drainSecret = (s: Config) => (s.DRAIN_SECRET ?? s.CRON_SECRET)?.split(',')[0];

/**
 * Where this deployment answers: SLUICE_BASE_URL, else the server's own address (serve() binds it),
 * else on Vercel (whose edge routes by Host) the request's origin or the production or deployment URL.
 * Nowhere else is the request's Host trusted: any caller chooses it, and the hand-over carries the
 * drain secret. Undefined: no way to call ourselves (the next tick drains instead).
 */
export function baseUrl(s: Config, requestUrl?: string, serverUrl?: string): string | undefined {
  if (s.SLUICE_BASE_URL) return s.SLUICE_BASE_URL.replace(/\/+$/, '');
  if (serverUrl) return serverUrl;
  if (process.env.VERCEL !== '1') return undefined;
  if (requestUrl) return new URL(requestUrl).origin;
  const host = process.env.VERCEL_ENV === 'production' ? process.env.VERCEL_PROJECT_PRODUCTION_URL : process.env.VERCEL_URL;
  return host ? `https://${host}` : undefined;
}

/**
 * A fresh invocation by HTTP: POST {base}/api/drain { start } with the drain secret. The
 * endpoint answers 202 at once and drains after its response, so this resolves in one round trip.
 */
export function httpDrainStarter(base: string, secret: string): StartDrain {
  return async (start) => {
    const response = await fetch(`${base}/api/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ start }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    if (response.status !== 202) throw new Error(`POST ${base}/api/drain answered ${response.status}, not 202`);
  };
}

const lambdaStarters = new Map<string, StartDrain>();

/**
 * AWS Lambda: an asynchronous Invoke (InvocationType Event) of SLUICE_DRAIN_FUNCTION, whose scheduled
 * handler reads the event's `sluice` field. The SDK is loaded on first use (Lambda's Node.js runtimes
 * ship it); one client per function name, reused while the instance is warm.
 */
export function lambdaDrainStarter(functionName: string): StartDrain {
  let starter = lambdaStarters.get(functionName);
  if (!starter) {
    let sdk: Promise<{ m: typeof import('@aws-sdk/client-lambda'); client: import('@aws-sdk/client-lambda').LambdaClient }> | undefined;
    starter = async (start) => {
      sdk ??= import('@aws-sdk/client-lambda').then((m) => ({ m, client: new m.LambdaClient({}) }));
      const { m, client } = await sdk;
      await client.send(new m.InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: JSON.stringify({ sluice: start }) }));
    };
    lambdaStarters.set(functionName, starter);
  }
  return starter;
}

/** What a runtime adapter says of its platform (part of the HTTP app's bindings, lib/http/app.ts). */
export interface RuntimeBindings {
  /** Keeps the invocation alive for work after the response (Next.js: after()). Default: Vercel's waitUntil. */
  waitUntil?: (work: Promise<unknown>) => void;
  /** false where the instance freezes once it has answered (Lambda): kicks then start a drain elsewhere. Default true. */
  runsAfterResponse?: boolean;
  /** Where this server answers, as the server itself knows it (serve()): hand-overs go there. */
  baseUrl?: string;
}

/**
 * The runtime for a request (its bindings and URL) or, with neither, for a call from the app's own
 * code: Lambda (AWS_LAMBDA_FUNCTION_NAME set) invokes SLUICE_DRAIN_FUNCTION, anything else calls its
 * own /api/drain; waitUntil is the adapter's (Next's after()), else Vercel's (a no-op elsewhere, where
 * the process outlives the response anyway).
 */
export function resolveRuntime(s: Config, bindings: RuntimeBindings = {}, requestUrl?: string): WakeRuntime {
  const onLambda = process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
  const secret = drainSecret(s);
  const base = baseUrl(s, requestUrl, bindings.baseUrl);
  const startDrain = s.SLUICE_DRAIN_FUNCTION
    ? lambdaDrainStarter(s.SLUICE_DRAIN_FUNCTION)
    : !onLambda && base && secret ? httpDrainStarter(base, secret) : undefined;
  return {
    waitUntil: bindings.waitUntil ?? ((work) => void vercelWaitUntil(work)),
    runsAfterResponse: bindings.runsAfterResponse ?? !onLambda,
    startDrain,
  };
}
