import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

const USAGE = `usage: gatehouse upstreams add --id ID --kind oidc|naver --name LABEL --client-id X --client-secret-stdin
         [--issuer URL] [--scope "..."] [--authorization-url URL --token-url URL --profile-url URL]
       | upstreams list | upstreams remove ID`;

/** Upstream identity providers stored in the database (those from the environment are listed too). */
export async function upstreamsCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const upstreams = services.upstreams;
  const redirectUri = upstreams.redirectUriFor;

  if (sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        id: { type: 'string' },
        kind: { type: 'string' },
        name: { type: 'string' },
        issuer: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret-stdin': { type: 'boolean' },
        scope: { type: 'string' },
        'authorization-url': { type: 'string' },
        'token-url': { type: 'string' },
        'profile-url': { type: 'string' },
      },
    });
    for (const key of ['id', 'kind', 'name', 'client-id'] as const) if (!values[key]) throw new UsageError(`--${key} is required`);
    // The secret only from stdin: a command-line argument shows up in `ps` and shell history.
    if (!values['client-secret-stdin']) throw new UsageError('--client-secret-stdin is required (pipe the client secret in)');
    const added = await upstreams.add({
      id: values.id!,
      kind: values.kind!,
      name: values.name!,
      issuer: values.issuer,
      clientId: values['client-id']!,
      clientSecret: await terminal.readInput(),
      scope: values.scope,
      authorizationUrl: values['authorization-url'],
      tokenUrl: values['token-url'],
      profileUrl: values['profile-url'],
    });
    return print(
      { json, terminal },
      { ...added, redirectUri: redirectUri(added.id) },
      () => `added upstream ${added.id} (${added.name}); register this redirect URI at the upstream: ${redirectUri(added.id)}`,
    );
  }
  if (sub === 'list') {
    const list = (await upstreams.listSummaries()).map((u) => ({ ...u, redirectUri: redirectUri(u.id) }));
    return print({ json, terminal }, list, () =>
      table([['ID', 'KIND', 'NAME', 'SOURCE', 'CLIENT ID', 'REDIRECT URI'], ...list.map((u) => [u.id, u.kind, u.name, u.source, u.clientId, u.redirectUri])]),
    );
  }
  if (sub === 'remove') {
    const [id, ...extra] = rest;
    if (!id || extra.length) throw new UsageError('usage: gatehouse upstreams remove ID');
    await upstreams.remove(id);
    return print({ json, terminal }, { removed: id }, () => `removed upstream ${id} (its users' links are kept, and work again if it is added back)`);
  }
  throw new UsageError(USAGE);
}
