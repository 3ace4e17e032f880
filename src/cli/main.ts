import { parseArgs } from 'node:util';
import pino from 'pino';
import { type Config, ConfigError, loadConfig } from '../config/load-config.ts';
import { createCore } from '../core.ts';
import { createDatabase } from '../db/create-knex.ts';
import { runMigrations } from '../db/run-migrations.ts';
import { AppError } from '../errors/app-error.ts';
import { auditCommand } from './audit-command.ts';
import { clientsCommand } from './clients-command.ts';
import type { CommandContext } from './command-context.ts';
import { keysCommand } from './keys-command.ts';
import { print, UsageError } from './output.ts';
import { registrationTokensCommand } from './registration-tokens-command.ts';
import { resourcesCommand } from './resources-command.ts';
import { rolesCommand } from './roles-command.ts';
import { upstreamsCommand } from './upstreams-command.ts';
import { USER_ROLES_USAGE } from './user-roles-command.ts';
import { usersCommand } from './users-command.ts';

const USAGE = `usage: gatehouse <command> [--json]
  serve | migrate
  resources create --identifier URI --scope "a b" [--access-token-ttl SECONDS] [--rbac] [--token-claim NAME]... | resources list
  resources update --identifier URI [--rbac | --no-rbac] [--token-claim NAME]... [--no-token-claims]
  roles create --resource API --name N [--scope "a b"] | roles list --resource API | roles delete --resource API --name N [--revoke-tokens]
  clients create --name NAME [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant-type T]...
                 [--scope "..."] [--resource URI]... [--token-endpoint-auth-method M] [--application-type web|native]
                 [--jwks-uri URI | --jwks FILE] [--introspect] [--first-party]
                 [--refresh-token-grace S] [--refresh-token-idle S] [--refresh-token-absolute S] [--token-rate-limit N]
                 [--backchannel-logout-uri URI]
  clients list | show ID | delete ID | rotate-secret ID
  users create --email E (--password-stdin | --password P) [--name N] | users revoke-sessions --email E
  users list [--search TEXT] [--limit N] [--cursor C] | users show|disable|enable|delete|export (--email E | --id ID)
  users update (--email E | --id ID) [--name N] [--new-email E2] [--email-verified true|false]
  users send-reset (--email E | --id ID) [--locale en|ko] | users import --file users.jsonl
  ${USER_ROLES_USAGE}
  keys list | keys rotate | keys revoke KID
  audit [--type T] [--client ID] [--account ID] [--since ISO-TIME] [--limit N]
  upstreams add --id ID --kind oidc|naver --name LABEL --client-id X --client-secret-stdin [--issuer URL] [--scope "..."]
  upstreams list | upstreams remove ID
  registration-tokens create [--resource URI]... [--scope "..."] [--expires-in SECONDS] [--public-only] [--note TEXT]`;

const GROUPS: Record<string, (c: CommandContext) => Promise<void>> = {
  resources: resourcesCommand,
  roles: rolesCommand,
  clients: clientsCommand,
  users: usersCommand,
  keys: keysCommand,
  audit: auditCommand,
  upstreams: upstreamsCommand,
  'registration-tokens': registrationTokensCommand,
};

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const [command, ...rest] = args;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    if (!command) process.exitCode = 1;
    return;
  }
  const config = loadConfig(process.env);
  if (command === 'serve') {
    parseArgs({ args: rest, options: {}, strict: true });
    // Loaded only to serve: commands never load the HTTP layer.
    const { serve } = await import('../server.ts');
    return serve(config);
  }
  if (command === 'migrate') return migrate(config, json);
  const run = GROUPS[command];
  if (!run) throw new UsageError(`unknown command: ${command}`);
  // Commands log only warnings, to stderr, so stdout stays clean for --json consumers. Beside a
  // server on the embedded database they go through that server (embedded-socket.ts).
  const core = await createCore(config, { joinRunningServer: true, logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    await run({ args: rest, json, config, services: core.services });
  } finally {
    await core.close();
  }
}

async function migrate(config: Config, json: boolean): Promise<void> {
  const db = createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, joinRunningServer: true });
  try {
    const applied = await runMigrations(db.knex, undefined, { isEmbedded: db.isEmbedded });
    print({ json }, { applied }, () => (applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date'));
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // One line, a reason, a non-zero exit: never a stack trace for bad input.
  const known = err instanceof UsageError || err instanceof AppError || err instanceof ConfigError || isParseArgsError(err);
  const message = known || err instanceof Error ? (err as Error).message : String(err);
  process.stderr.write(`gatehouse: ${message.split('\n')[0]}\n`);
  process.exit(known ? 2 : 1);
});

function isParseArgsError(err: unknown): boolean {
  return typeof (err as { code?: string })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
