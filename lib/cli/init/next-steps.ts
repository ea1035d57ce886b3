/** What `sluice init` prints last: the steps from here to a job that ran, locally and on Vercel. */
export function nextSteps(o: { install: boolean; configLine?: string }): string {
  const steps = [
    ...(o.install ? ['npm install'] : []),
    ...(o.configLine ? [`${o.configLine}  (Next must load Sluice and the drivers from node_modules)`] : []),
    'Put your Postgres connection string in .env.local (DATABASE_URL), then: npx sluice migrate',
    'npm run dev, and in a second terminal: npx sluice dev  (calls the cron tick every 5 s, so delayed jobs and retries run)',
    'Enqueue the example job, from your code: await sluice.enqueue(helloWorld, { name: \'Ada\' })\n' +
      '     or: curl -X POST http://localhost:3000/api/jobs -H "authorization: Bearer $ENQUEUE_SECRET" \\\n' +
      '           -H \'content-type: application/json\' -d \'{"type":"hello-world","payload":{"name":"Ada"}}\'',
    'On Vercel: set DATABASE_URL (or add Neon from the Marketplace), ENQUEUE_SECRET, ADMIN_SECRET and CRON_SECRET;\n' +
      '     the vercel-build script migrates before each build, and vercel.json\'s cron drains every minute.',
  ];
  return `\nNext steps:\n${steps.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}\n`;
}
