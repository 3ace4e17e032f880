import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { UserRef, UserView } from '../accounts/user-admin.ts';
import { ImportRejected } from '../accounts/user-import.ts';
import { isLocale } from '../i18n/locales.ts';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

export const USERS_LIFECYCLE_USAGE = `users list [--search TEXT] [--limit N] [--cursor C] | users show (--email E | --id ID)
  users update (--email E | --id ID) [--name N] [--new-email E2] [--email-verified true|false]
  users disable | enable | delete (--email E | --id ID) | users send-reset (--email E | --id ID) [--locale en|ko]
  users import --file users.jsonl | users export (--email E | --id ID)`;

const SUBCOMMANDS = new Set(['list', 'show', 'update', 'disable', 'enable', 'delete', 'send-reset', 'import', 'export']);
export const isUsersLifecycleCommand = (sub: string | undefined) => sub !== undefined && SUBCOMMANDS.has(sub);

const who = { email: { type: 'string' }, id: { type: 'string' } } as const;
const refOf = (values: { email?: string; id?: string }): UserRef => {
  if ((values.email === undefined) === (values.id === undefined)) throw new UsageError('give exactly one of --email or --id');
  return values.id !== undefined ? { id: values.id } : { email: values.email };
};
const line = (u: UserView) =>
  `${u.id}  ${u.email ?? '(no email)'}${u.emailVerified ? ' (verified)' : ''}${u.disabledAt ? `  disabled since ${u.disabledAt.toISOString()}` : ''}`;

/** `gatehouse users list|show|update|disable|enable|delete|send-reset|import|export`: the users service, as the admin API uses it. */
export async function usersLifecycleCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const users = services.users;
  const actor = { via: 'cli' as const };
  const parse = <O extends Record<string, { type: 'string' | 'boolean' }>>(options: O) => parseArgs({ args: rest, strict: true, options }).values;

  switch (sub) {
    case 'list': {
      const v = parse({ search: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } });
      const limit = v.limit === undefined ? undefined : Number(v.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 200)) throw new UsageError('--limit must be a whole number from 1 to 200');
      const page = await users.list({ search: v.search as string | undefined, limit, cursor: v.cursor as string | undefined });
      return print({ json, terminal }, page, () => {
        const rows = [['ID', 'EMAIL', 'VERIFIED', 'PASSWORD', 'DISABLED', 'CREATED']].concat(
          page.users.map((u) => [
            u.id,
            u.email ?? '-',
            u.emailVerified ? 'yes' : 'no',
            u.hasPassword ? 'yes' : 'no',
            u.disabledAt ? u.disabledAt.toISOString() : '-',
            u.createdAt.toISOString(),
          ]),
        );
        return `${table(rows)}${page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''}`;
      });
    }
    case 'show': {
      const user = await users.show(refOf(parse(who)));
      return print({ json, terminal }, user, () =>
        [
          line(user),
          `name: ${user.name ?? '-'}`,
          `password: ${user.hasPassword ? 'yes' : 'no'}`,
          `created: ${user.createdAt.toISOString()}`,
          ...user.identities.map((i) => `upstream ${i.upstream}: ${i.email ?? '(no email)'}, last sign-in ${i.lastSignInAt.toISOString()}`),
        ].join('\n'),
      );
    }
    case 'update': {
      const v = parse({ ...who, name: { type: 'string' }, 'new-email': { type: 'string' }, 'email-verified': { type: 'string' } });
      const verified = v['email-verified'];
      if (verified !== undefined && verified !== 'true' && verified !== 'false') throw new UsageError('--email-verified must be true or false');
      const user = await users.update(
        refOf(v as { email?: string; id?: string }),
        {
          name: v.name as string | undefined,
          email: v['new-email'] as string | undefined,
          emailVerified: verified === undefined ? undefined : verified === 'true',
        },
        actor,
      );
      return print({ json, terminal }, user, () => `updated ${line(user)}`);
    }
    case 'disable':
    case 'enable': {
      const user = await users[sub](refOf(parse(who)), actor);
      return print({ json, terminal }, user, () =>
        sub === 'disable' ? `disabled ${line(user)}: signed out everywhere, its tokens revoked` : `enabled ${line(user)}`,
      );
    }
    case 'delete': {
      const result = await users.delete(refOf(parse(who)), actor);
      return print({ json, terminal }, result, () => `deleted user ${result.id} and everything of theirs`);
    }
    case 'send-reset': {
      const v = parse({ ...who, locale: { type: 'string' } });
      const locale = (v.locale as string | undefined) ?? 'en';
      if (!isLocale(locale)) throw new UsageError('--locale must be en or ko');
      const result = await users.sendReset(refOf(v as { email?: string; id?: string }), locale, actor);
      await services.mailer.idle(); // the command ends when the mail is out (or given up)
      return print({ json, terminal }, result, () => `sent a password-reset link to ${result.sentTo} (valid once, for 30 minutes)`);
    }
    case 'import': {
      const v = parse({ file: { type: 'string' } });
      if (!v.file) throw new UsageError('--file is required');
      let text: string;
      try {
        text = await readFile(v.file as string, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${v.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      try {
        const result = await users.import(text, actor);
        return print({ json, terminal }, result, () => `imported ${result.imported} ${result.imported === 1 ? 'user' : 'users'}`);
      } catch (err) {
        // Every bad line, then the one-line reason main prints: nothing was imported.
        if (err instanceof ImportRejected) for (const p of err.problems) terminal.err(`line ${p.line}: ${p.problem}\n`);
        throw err;
      }
    }
    case 'export': {
      const data = await users.export(refOf(parse(who)));
      return print({ json: true, terminal }, data, () => '');
    }
    default:
      throw new UsageError(`usage: gatehouse ${USERS_LIFECYCLE_USAGE}`);
  }
}
