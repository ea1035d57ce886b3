import { alertUnsent, DRAIN_DEFAULTS, type AppScope, type AlertChange, type AlertThresholds, type Config, type Db, type HousekeepingParams } from '../queue/index.js';
import { log } from '../queue/log.js';

/** The tick's housekeeping settings (queries-housekeeping.ts): its app, retention, and the alert thresholds when alerts are on. */
export function housekeepingParams(s: Config, scope: AppScope): HousekeepingParams {
  return {
    scope,
    historyRetentionMs: s.SLUICE_HISTORY_RETENTION,
    deadRetentionMs: s.SLUICE_DEAD_RETENTION,
    resultRetentionMs: s.SLUICE_RESULT_RETENTION,
    completedRetentionMs: s.SLUICE_COMPLETED_RETENTION,
    eventRetentionMs: s.SLUICE_EVENT_RETENTION,
    pruneBatch: DRAIN_DEFAULTS.pruneBatch,
    alerts: alertThresholds(s),
  };
}

/** The alert conditions' thresholds, or null when no webhook is set (no state is kept then). */
export function alertThresholds(s: Config): AlertThresholds | null {
  if (s.ALERT_WEBHOOK_URL === undefined) return null;
  return { deadMax: s.ALERT_DEAD_MAX, oldestPendingMs: s.ALERT_OLDEST_PENDING_MS, drainStaleMs: s.ALERT_DRAIN_STALE_MS, repeatMs: s.ALERT_REPEAT_MS };
}

export type AlertState = 'firing' | 'reminder' | 'resolved';

/** What is said about a change: nothing for a condition first seen healthy. */
export function alertState(change: AlertChange): AlertState | null {
  if (!change.active) return change.fresh ? null : 'resolved';
  return change.changed || change.fresh || change.resend ? 'firing' : 'reminder';
}

const seconds = (ms: number) => `${Math.round(ms / 1000).toLocaleString('en')} s`;

/** The condition in words, as /api/health states it. */
function describe(change: AlertChange, s: Config): string {
  switch (change.name) {
    case 'dead':
      return `${change.value} dead job${change.value === 1 ? '' : 's'} (alert above ${s.ALERT_DEAD_MAX})`;
    case 'oldest_pending':
      return `the oldest due job has waited ${seconds(change.value)} (alert above ${seconds(s.ALERT_OLDEST_PENDING_MS)})`;
    case 'drains_stale':
      return change.value < 0
        ? 'no drain has ended well yet while jobs are due: are the crons running?'
        : `no drain has ended well for ${seconds(change.value)} while jobs are due: are the crons running?`;
  }
}

/**
 * The webhook's JSON: `text` is what Slack (and Slack-compatible receivers: Discord's /slack
 * endpoint, Mattermost, Google Chat) shows; `alert` is the same, structured, for anything else.
 */
export function alertBody(change: AlertChange, state: AlertState, s: Config) {
  const what = describe(change, s);
  const icon = state === 'resolved' ? ':white_check_mark:' : ':rotating_light:';
  const lead = state === 'resolved' ? 'resolved' : state === 'reminder' ? 'still' : 'alert';
  const where = s.SLUICE_BASE_URL ? ` <${new URL('/api/dashboard', s.SLUICE_BASE_URL).href}|dashboard>` : '';
  return {
    text: `${icon} Sluice ${lead}: ${state === 'resolved' ? `${change.name.replaceAll('_', ' ')} back to normal (now: ${what})` : what}${where}`,
    alert: { name: change.name, state, value: change.value, description: what },
  };
}

/**
 * Posts a message per change due (see alertState), at once, each within 5 s. One that fails (no answer,
 * or not 2xx) is marked unsent, so the next check sends it again. Returns the messages delivered.
 */
export async function announce(db: Db, app: string, s: Config, changes: AlertChange[]): Promise<number> {
  const url = s.ALERT_WEBHOOK_URL;
  if (url === undefined) return 0;
  const sent = await Promise.all(changes.map(async (change) => {
    const state = alertState(change);
    if (state === null) return false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alertBody(change, state, s)),
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
      log.info('alert sent', { alert: change.name, state });
      return true;
    } catch (error) {
      // The URL itself may hold a token (Slack's do): never logged.
      log.error('alert not sent (the next check tries again)', { alert: change.name, state, error });
      await alertUnsent(db, app, change.name).catch(() => {});
      return false;
    }
  }));
  return sent.filter(Boolean).length;
}
