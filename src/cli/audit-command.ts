import { parseArgs } from 'node:util';
import type { CommandContext } from './main.ts';
import { print, table, UsageError } from './output.ts';

/** `gatehouse audit [--type T] [--limit N]`: the newest audit events first. */
export async function auditCommand({ args, json, gatehouse }: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { type: { type: 'string' }, limit: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('usage: gatehouse audit [--type T] [--limit N]');
  if (values.limit !== undefined && !/^\d{1,5}$/.test(values.limit)) throw new UsageError('--limit must be a number up to 99999');
  const events = await gatehouse.services.audit.list({ type: values.type, limit: values.limit ? Number(values.limit) : 100 });
  print({ json }, events, () =>
    table([
      ['ID', 'WHEN', 'TYPE', 'CLIENT', 'ACCOUNT', 'IP', 'DETAILS'],
      ...events.map((e) => [String(e.id), e.occurredAt.toISOString(), e.type, e.clientId ?? '-', e.accountId ?? '-', e.ip ?? '-', JSON.stringify(e.details ?? {})]),
    ]),
  );
}
