import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, UsageError } from './output.ts';
import { USER_ROLE_COMMANDS, userRolesCommand } from './user-roles-command.ts';
import { isUsersLifecycleCommand, USERS_LIFECYCLE_USAGE, usersLifecycleCommand } from './users-lifecycle-command.ts';

export async function usersCommand(context: CommandContext): Promise<void> {
  const { args, json, services, terminal } = context;
  const [sub, ...rest] = args;
  if (isUsersLifecycleCommand(sub)) return usersLifecycleCommand(context);
  if (sub && USER_ROLE_COMMANDS.has(sub)) return userRolesCommand(context);
  if (sub === 'revoke-sessions') {
    const { values } = parseArgs({ args: rest, strict: true, options: { email: { type: 'string' } } });
    if (!values.email) throw new UsageError('--email is required');
    const result = await services.signOutEverywhere(values.email);
    return print(
      { json, terminal },
      result,
      () => `signed ${values.email} out everywhere: ${result.deleted} sessions, grants and tokens deleted; access tokens issued before now are revoked`,
    );
  }
  if (sub !== 'create') {
    throw new UsageError(
      `usage: gatehouse users create --email E (--password-stdin | --password P) [--name N] | users revoke-sessions --email E\n  ${USERS_LIFECYCLE_USAGE}`,
    );
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      name: { type: 'string' },
    },
  });
  if (!values.email) throw new UsageError('--email is required');
  if (values['password-stdin'] === (values.password !== undefined)) {
    throw new UsageError('give exactly one of --password-stdin or --password');
  }
  const password = values['password-stdin'] ? await terminal.readInput() : values.password!;
  const account = await services.accounts.registerAccount({ email: values.email, password, name: values.name }, { via: 'cli' });
  print({ json, terminal }, account, () => `created user ${account.email} (${account.id})`);
}
