import { createHash } from 'node:crypto';

/**
 * Which app an instance is, among the Sluice apps that may share one database: the scope of its
 * coordination (the drain mark, kick marks, drain slots, alert states, depth samples, idle hints)
 * and of what it counts and prunes (stats, alerts and retention see only its own types). Two apps with
 * different job sets never stand in for each other: one app's drain says nothing about the other's
 * crons, and one app's dead jobs are not the other's to alert on or delete.
 */
export interface AppScope {
  /** SLUICE_APP, else derived from the types (appName). */
  app: string;
  /** The app's job types, sorted. */
  types: string[];
}

/**
 * The default name: a digest of the sorted type names, so every deployment with the same job set is
 * the same app with no configuration, and apps with different sets are apart. Adding a type makes a
 * new name (its marks, slots and samples start afresh); SLUICE_APP keeps one across such deploys.
 */
export function appName(types: Iterable<string>): string {
  const sorted = [...new Set(types)].sort();
  return `types-${createHash('sha256').update(sorted.join(',')).digest('hex').slice(0, 16)}`;
}

/** The scope of an app with these types, named `name` if given (SLUICE_APP). */
export function appScope(types: Iterable<string>, name?: string): AppScope {
  const sorted = [...new Set(types)].sort();
  return { app: name ?? appName(sorted), types: sorted };
}
