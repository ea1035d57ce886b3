import { httpSuite } from '../http/suite.js';
import { startVercelDev } from './vercel.js';

// The real Vercel CLI (pinned, installed outside the repo on first use) serving api/ offline.
// SLUICE_RUNTIME_ROOT serves another checkout's api/ (e.g. a scratch copy while api/ is mid-edit).
httpSuite('vercel dev --local', ({ env }) => startVercelDev({ env, cwd: process.env.SLUICE_RUNTIME_ROOT }), {
  platform: { chunkedRequestsRefused: 'vercel dev 60.1.3 answers every chunked request 500 before the function runs' },
});
