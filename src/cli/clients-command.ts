import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

export async function clientsCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const clients = services.clients;
  const oneId = () => {
    const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError(`usage: gatehouse clients ${sub} CLIENT_ID`);
    return positionals[0]!;
  };

  switch (sub) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        strict: true,
        options: {
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'application-type': { type: 'string' },
          'jwks-uri': { type: 'string' },
          jwks: { type: 'string' },
          'grant-type': { type: 'string', multiple: true },
          scope: { type: 'string' },
          resource: { type: 'string', multiple: true },
          'token-endpoint-auth-method': { type: 'string' },
          introspect: { type: 'boolean' },
          'first-party': { type: 'boolean' },
          'refresh-token-grace': { type: 'string' },
          'refresh-token-idle': { type: 'string' },
          'refresh-token-absolute': { type: 'string' },
          'token-rate-limit': { type: 'string' },
          'backchannel-logout-uri': { type: 'string' },
        },
      });
      const seconds = (flag: 'refresh-token-grace' | 'refresh-token-idle' | 'refresh-token-absolute') => {
        const v = values[flag];
        if (v === undefined) return undefined;
        if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} must be a number of seconds`);
        return Number(v);
      };
      const rate = values['token-rate-limit'];
      if (rate !== undefined && !/^\d+(\.\d+)?$/.test(rate)) throw new UsageError('--token-rate-limit must be a number of requests per second');
      if (!values.name) throw new UsageError('--name is required');
      if (values.jwks !== undefined && values['jwks-uri'] !== undefined) throw new UsageError('give --jwks-uri or --jwks, not both');
      const { client, clientSecret } = await clients.registerClient({
        name: values.name,
        redirectUris: values['redirect-uri'],
        postLogoutRedirectUris: values['post-logout-redirect-uri'],
        applicationType: values['application-type'],
        jwksUri: values['jwks-uri'],
        jwks: values.jwks === undefined ? undefined : await readJwksFile(values.jwks),
        grantTypes: values['grant-type'],
        scope: values.scope,
        resources: values.resource,
        tokenEndpointAuthMethod: values['token-endpoint-auth-method'],
        canIntrospect: values.introspect,
        isFirstParty: values['first-party'],
        refreshTokenGraceSeconds: seconds('refresh-token-grace'),
        refreshTokenIdleSeconds: seconds('refresh-token-idle'),
        refreshTokenAbsoluteSeconds: seconds('refresh-token-absolute'),
        tokenRateLimitPerSecond: rate === undefined ? undefined : Number(rate),
        backchannelLogoutUri: values['backchannel-logout-uri'],
      });
      return print({ json, terminal }, { ...client, ...(clientSecret ? { client_secret: clientSecret } : {}) }, () =>
        [
          `client_id:     ${client.client_id}`,
          ...(clientSecret
            ? [`client_secret: ${clientSecret}`, '(shown once: it is stored only as a hash)']
            : [
                client.token_endpoint_auth_method === 'private_key_jwt'
                  ? 'private_key_jwt client (no secret: it signs with its own key)'
                  : 'public client (no secret)',
              ]),
        ].join('\n'),
      );
    }
    case 'list': {
      parseArgs({ args: rest, strict: true, options: {} });
      const list = await clients.listClients();
      return print({ json, terminal }, list, () =>
        table([
          ['CLIENT_ID', 'NAME', 'AUTH', 'GRANTS'],
          ...list.map((c) => [c.client_id, String(c.client_name), String(c.token_endpoint_auth_method), (c.grant_types as string[]).join(',')]),
        ]),
      );
    }
    case 'show': {
      const client = await clients.showClient(oneId());
      return print({ json, terminal }, client, () => JSON.stringify(client, null, 2));
    }
    case 'delete': {
      const id = oneId();
      await clients.deleteClient(id);
      return print({ json, terminal }, { deleted: id }, () => `deleted client ${id}`);
    }
    case 'rotate-secret': {
      const { client, clientSecret } = await clients.rotateClientSecret(oneId());
      return print(
        { json, terminal },
        { client_id: client.client_id, client_secret: clientSecret },
        () => `client_id:     ${client.client_id}\nclient_secret: ${clientSecret}\n(the old secret no longer works)`,
      );
    }
    default:
      throw new UsageError('usage: gatehouse clients create|list|show|delete|rotate-secret');
  }
}

/** `--jwks FILE`: a JWK Set of the client's public keys, as JSON. */
async function readJwksFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--jwks: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks: ${path} is not JSON (expected a JWK Set: {"keys": [...]})`);
  }
}
