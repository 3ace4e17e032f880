import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

export async function resourcesCommand({ args, json, services }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const resources = services.resources;
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: { identifier: { type: 'string' }, scope: { type: 'string' }, 'access-token-ttl': { type: 'string' } },
    });
    if (!values.identifier) throw new UsageError('--identifier is required');
    if (!values.scope) throw new UsageError('--scope is required');
    const ttl = values['access-token-ttl'];
    if (ttl !== undefined && !/^\d+$/.test(ttl)) throw new UsageError('--access-token-ttl must be a number of seconds');
    const created = await resources.createResource({
      identifier: values.identifier,
      scope: values.scope,
      accessTokenTtlSeconds: ttl === undefined ? undefined : Number(ttl),
    });
    return print({ json }, created, () => `created resource ${created.identifier} (scopes: ${created.scopes.join(' ')}; access tokens live ${created.accessTokenTtlSeconds}s)`);
  }
  if (sub === 'list') {
    const list = await resources.listResources();
    return print({ json }, list, () =>
      table([['IDENTIFIER', 'SCOPES', 'TTL'], ...list.map((r) => [r.identifier, r.scopes.join(' '), `${r.accessTokenTtlSeconds}s`])]),
    );
  }
  throw new UsageError('usage: gatehouse resources create|list');
}
