import { runGatehouseCli } from '../../src/cli/gatehouse-cli.ts';
import type { CliResult } from './gatehouse-process.ts';

/**
 * Runs `gatehouse ...args` in this process, against `env` only, with stdin `input`: the same
 * commands, output and exit codes as `node bin/gatehouse.js` (cli.test.ts checks a few as a real
 * process), without loading the whole program again for every command.
 */
export async function runCliInProcess(args: string[], env: Record<string, string>, options: { input?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runGatehouseCli(args, {
    env: { ...env },
    terminal: {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      readInput: async () => (options.input ?? '').replace(/\r?\n$/, ''),
    },
  });
  return { code, stdout, stderr };
}
