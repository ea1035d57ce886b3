import { vercelHandlers } from '../adapters/vercel.js';
import { sluice } from './sluice.js';

/** The Web handlers every file under api/ re-exports: the app routes by path, so each file serves its own. */
export const { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } = vercelHandlers(sluice);
