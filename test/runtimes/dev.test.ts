import { httpSuite } from '../http/suite.js';
import { startNpmRunDev } from './dev.js';

// npm run dev's server, as a developer starts it. SLUICE_RUNTIME_ROOT runs it from another checkout.
httpSuite('npm run dev', ({ env }) => startNpmRunDev({ env, cwd: process.env.SLUICE_RUNTIME_ROOT }));
