#!/usr/bin/env node
// The package's bin, `sluice` (npx sluice). Each command (commands/) translates its arguments and calls
// the engine (lib/queue/index.ts); program.ts puts them together.
import { runSluice } from './program.js';

process.exitCode = await runSluice(process.argv.slice(2));
