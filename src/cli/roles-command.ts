import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

const USAGE = `usage: gatehouse roles create --resource API --name N [--scope "a b"]
       gatehouse roles list --resource API
       gatehouse roles delete --resource API --name N [--revoke-tokens]`;

/** `gatehouse roles …`: an API's roles, each a name for a set of its scopes. */
export async function rolesCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const roles = services.roles;
  const options = { resource: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string' }, 'revoke-tokens': { type: 'boolean' } } as const;
  const { values } = parseArgs({ args: rest, strict: true, options });
  if (!values.resource) throw new UsageError('--resource is required');
  switch (sub) {
    case 'create': {
      if (!values.name) throw new UsageError('--name is required');
      if (values['revoke-tokens']) throw new UsageError('--revoke-tokens is for roles delete');
      const role = await roles.createRole({ resource: values.resource, name: values.name, scope: values.scope });
      return print({ json, terminal }, role, () => `created role ${role.name} of ${role.resource} (scopes: ${role.scopes.join(' ') || 'none'})`);
    }
    case 'list': {
      const list = await roles.listRoles(values.resource);
      return print({ json, terminal }, list, () => table([['ROLE', 'SCOPES'], ...list.map((r) => [r.name, r.scopes.join(' ')])]));
    }
    case 'delete': {
      if (!values.name) throw new UsageError('--name is required');
      const result = await roles.deleteRole({ resource: values.resource, name: values.name, revokeTokens: values['revoke-tokens'] });
      return print(
        { json, terminal },
        result,
        () =>
          `deleted role ${result.role} of ${result.resource}; ${result.users} users lost it${result.tokensRevoked ? ' and their access tokens for it are revoked' : ''}`,
      );
    }
    default:
      throw new UsageError(USAGE);
  }
}
