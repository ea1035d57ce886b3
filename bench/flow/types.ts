/**
 * A system's part in the flow scenario, beside its systems/*.ts: the parent seeds keyed jobs over the
 * installed system's direct connection; the child (flow/child.ts) drains them with or without a
 * per-key limit.
 */
import type { DrainResult, Endpoints } from '../systems/types.js';
import type { FlowPayload, TrackerStats } from './work.js';

/** null: no limit. graphile-worker has only 1 (a named queue runs one job at a time). */
export type FlowLimit = number | null;

export interface FlowSetup {
  /** Empties the system's flow jobs and whatever its limit keeps (slots, queue locks), and vacuums. */
  reset(): Promise<void>;
  /** Enqueues the payloads as the variant with `limit` needs them (Sluice computes its key at enqueue). */
  seed(payloads: FlowPayload[], limit: FlowLimit): Promise<void>;
  remaining(): Promise<number>;
  close(): Promise<void>;
}

/** What the child's drain returns beyond a DrainResult's figures. */
export interface FlowExtra {
  tracker: TrackerStats;
  /**
   * Sluice only: claim statements, the jobs they returned, the claims a flow limit held jobs back in,
   * and the claims' time on the wire summed (pool wait included).
   */
  claims?: { count: number; jobs: number; heldBack: number; ms: number };
  /** Sluice only: the drain's summary. */
  summary?: unknown;
}

export interface FlowModule {
  /** How the system's rows are labelled in the report, per limit. */
  label(limit: FlowLimit): string;
  /** The limits it has an equivalent for (null: its row without one). */
  limits: FlowLimit[];
  /** The settings its drains run with, written into the results. */
  settings: Record<string, unknown>;
  setup(direct: Endpoints): Promise<FlowSetup>;
  drain(at: Endpoints, direct: Endpoints, n: number, capMs: number, limit: FlowLimit): Promise<DrainResult & { extra: FlowExtra }>;
}
