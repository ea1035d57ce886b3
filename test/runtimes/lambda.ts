import { fileURLToPath } from 'node:url';
import { childEnv, freePort, type Server, spawnServer } from './process.js';

const SERVER = fileURLToPath(new URL('./lambda-server.ts', import.meta.url));

/** deploy/aws/handler.ts's `http` behind a local function URL stand-in (lambda-server.ts), with `env`. */
export async function startLambdaHttp(opts: { env: Record<string, string> }): Promise<Server> {
  const port = await freePort();
  return spawnServer({
    name: 'lambda http',
    command: process.execPath,
    args: ['--import', 'tsx', SERVER],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: childEnv({ ...opts.env, PORT: String(port) }),
    url: `http://127.0.0.1:${port}`,
    readyPath: '/api/health',
    readyTimeoutMs: 60_000,
  });
}
