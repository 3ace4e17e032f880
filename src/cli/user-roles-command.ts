import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, UsageError } from './output.ts';

/** The `users` subcommands about what a user's tokens carry (users-command.ts hands them here). */
export const USER_ROLE_COMMANDS = new Set(['grant-role', 'revoke-role', 'set-attributes', 'permissions']);

export const USER_ROLES_USAGE = `users grant-role --email E --resource API --role N
  users revoke-role --email E --resource API --role N [--revoke-tokens]
  users set-attributes --email E (--attributes JSON | --attributes-file F) | users permissions --email E`;

export async function userRolesCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const roles = services.roles;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      email: { type: 'string' },
      resource: { type: 'string' },
      role: { type: 'string' },
      'revoke-tokens': { type: 'boolean' },
      attributes: { type: 'string' },
      'attributes-file': { type: 'string' },
    },
  });
  if (!values.email) throw new UsageError('--email is required');
  const email = values.email;
  const roleArgs = () => {
    if (!values.resource) throw new UsageError('--resource is required');
    if (!values.role) throw new UsageError('--role is required');
    return { email, resource: values.resource, role: values.role };
  };
  switch (sub) {
    case 'grant-role': {
      const result = await roles.grantRole(roleArgs());
      return print(
        { json, terminal },
        result,
        () => `${email} ${result.isNew ? 'now has' : 'already had'} the role ${result.role} at ${result.resource} (from their next token)`,
      );
    }
    case 'revoke-role': {
      const result = await roles.revokeRole({ ...roleArgs(), revokeTokens: values['revoke-tokens'] });
      return print(
        { json, terminal },
        result,
        () =>
          `${email} no longer has the role ${result.role} at ${result.resource}: ${result.tokensRevoked ? 'their access tokens for it are revoked' : 'from their next token or refresh'}`,
      );
    }
    case 'set-attributes': {
      if ((values.attributes === undefined) === (values['attributes-file'] === undefined))
        throw new UsageError('give exactly one of --attributes or --attributes-file');
      const text = values.attributes ?? (await readFile(values['attributes-file']!, 'utf8'));
      let attributes: unknown;
      try {
        attributes = JSON.parse(text);
      } catch {
        throw new UsageError('the attributes are not valid JSON');
      }
      const result = await roles.setAttributes({ email, attributes });
      return print({ json, terminal }, result, () => `${email}'s attributes: ${JSON.stringify(result.attributes)}`);
    }
    case 'permissions': {
      const result = await roles.permissionsOf(email);
      return print({ json, terminal }, result, () =>
        [...result.roles.map((r) => `role ${r.role} at ${r.resource}`), `attributes: ${JSON.stringify(result.attributes)}`].join('\n'),
      );
    }
    default:
      throw new UsageError(`usage: gatehouse ${USER_ROLES_USAGE}`);
  }
}
