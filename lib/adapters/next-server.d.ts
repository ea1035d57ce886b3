// The one Next.js API the adapter uses, declared for this repository's own type check (Next.js is an
// optional peer dependency, installed by apps, not here). Apps type-check against Next's own types.
declare module 'next/server.js' {
  export function after<T>(task: Promise<T> | (() => T | Promise<T>)): void;
}
