import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

/** `gatehouse audit [--type T] [--client ID] [--account ID] [--since ISO-TIME] [--limit N]`: the newest audit events first. */
export async function auditCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { type: { type: 'string' }, client: { type: 'string' }, account: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('usage: gatehouse audit [--type T] [--client ID] [--account ID] [--since ISO-TIME] [--limit N]');
  if (values.limit !== undefined && !/^\d{1,5}$/.test(values.limit)) throw new UsageError('--limit must be a number up to 99999');
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) throw new UsageError('--since must be a date or time, e.g. 2026-11-23 or 2026-11-23T10:00:00Z');
  if (values.account !== undefined && !/^[0-9a-f-]{36}$/i.test(values.account)) throw new UsageError('--account must be an account id (a UUID)');
  const events = await services.audit.list({
    type: values.type,
    clientId: values.client,
    accountId: values.account,
    since,
    limit: values.limit ? Number(values.limit) : 100,
  });
  print({ json, terminal }, events, () =>
    table([
      ['ID', 'WHEN', 'TYPE', 'CLIENT', 'ACCOUNT', 'IP', 'DETAILS'],
      ...events.map((e) => [
        String(e.id),
        e.occurredAt.toISOString(),
        e.type,
        e.clientId ?? '-',
        e.accountId ?? '-',
        e.ip ?? '-',
        JSON.stringify(e.details ?? {}),
      ]),
    ]),
  );
}
