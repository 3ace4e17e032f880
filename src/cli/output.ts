import type { Terminal } from './terminal.ts';

/** What every command prints, to its terminal: JSON with --json, readable lines otherwise. */
export type Output = { json: boolean; terminal: Terminal };

export function print(out: Output, value: unknown, text: () => string): void {
  out.terminal.out(out.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export class UsageError extends Error {}

export const table = (rows: string[][]): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};
