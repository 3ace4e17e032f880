import { parseArgs } from 'node:util';
import type { CommandContext } from './main.ts';
import { print, table, UsageError } from './output.ts';

export async function keysCommand({ args, json, gatehouse }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UsageError('usage: gatehouse keys list');
  parseArgs({ args: rest, strict: true, options: {} });
  const keys = await gatehouse.services.signingKeys.listKeys();
  const date = (d: Date | null) => (d ? d.toISOString() : '-');
  print({ json }, keys, () =>
    table([
      ['KID', 'ALG', 'STATUS', 'CREATED', 'ACTIVATED', 'RETIRED'],
      ...keys.map((k) => [k.kid, k.alg, k.status, date(k.createdAt), date(k.activatedAt), date(k.retiredAt)]),
    ]),
  );
}
