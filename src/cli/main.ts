import { processEnvironment } from '../config/load-config.ts';
import { runGatehouseCli } from './gatehouse-cli.ts';
import { processTerminal } from './terminal.ts';

// The process entry of `gatehouse …` (bin/gatehouse.js imports this once Node is new enough).
const code = await runGatehouseCli(process.argv.slice(2), { env: processEnvironment(), terminal: processTerminal });
// A failure exits at once: nothing a failed command opened may keep the process alive.
if (code !== 0) process.exit(code);
