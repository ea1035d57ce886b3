// The embedded Postgres moved under lib/cli/ (sluice dev --embedded-postgres ships it); scripts, tests and benches import it from here.
export { freePort, startLocalPostgres, type LocalPostgres } from '../lib/cli/local-postgres.js';
