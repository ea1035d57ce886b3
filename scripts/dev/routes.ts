import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One function under api/, routed the way Vercel routes it. */
export interface Route {
  file: string;
  /** e.g. ['api', 'jobs', '[id]', 'retry'] */
  segments: string[];
}

const FUNCTION_FILE = /\.(ts|js|mjs|cjs)$/;

/**
 * The functions under `apiDir` by Vercel's file conventions: api/a/b.ts is /api/a/b, api/a/index.ts
 * is /api/a, a [name] segment matches anything and lands in req.query.name. Files and folders whose
 * name starts with _ or . are not functions, nor are .d.ts files.
 */
export function discoverRoutes(apiDir: string, root = join(apiDir, '..')): Route[] {
  const routes: Route[] = [];
  for (const entry of readdirSync(apiDir, { withFileTypes: true })) {
    if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const path = join(apiDir, entry.name);
    if (entry.isDirectory()) routes.push(...discoverRoutes(path, root));
    else if (FUNCTION_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      const segments = relative(root, path).replace(FUNCTION_FILE, '').split(/[\\/]/);
      if (segments[segments.length - 1] === 'index') segments.pop();
      routes.push({ file: path, segments });
    }
  }
  // Static segments win over dynamic ones, position by position (api/jobs/stats before api/jobs/[id]).
  return routes.sort((a, b) => rank(a).localeCompare(rank(b)));
}

const isParam = (segment: string) => /^\[[^\]]+\]$/.test(segment);
const rank = (r: Route) => r.segments.map((s) => (isParam(s) ? '1' : '0')).join('');

/** The route serving `pathname` and its dynamic parameters, or undefined (404). */
export function matchRoute(routes: Route[], pathname: string): { route: Route; params: Record<string, string> } | undefined {
  let parts: string[];
  try {
    parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined; // malformed percent-encoding
  }
  for (const route of routes) {
    if (route.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (route.segments.every((s, i) => (isParam(s) ? ((params[s.slice(1, -1)] = parts[i]!), true) : s === parts[i]))) {
      return { route, params };
    }
  }
  return undefined;
}
