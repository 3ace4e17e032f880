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
import { type Output, print, UsageError } from './output.ts';
import { registrationTokensCommand } from './registration-tokens-command.ts';
import { resourcesCommand } from './resources-command.ts';
import { rolesCommand } from './roles-command.ts';
import type { Terminal } from './terminal.ts';
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

/**
 * Runs one `gatehouse …` command line against `env` and returns its exit code: 0, 1 for a failure
 * we did not foresee, 2 for bad input. A refusal is one line on the terminal's stderr, never a
 * stack trace. `bin/gatehouse.js` runs it on the process's own streams (main.ts); tests run it in
 * their own process with buffers, which saves loading the whole program for every command.
 */
export async function runGatehouseCli(argv: string[], io: { env: NodeJS.ProcessEnv; terminal: Terminal }): Promise<number> {
  try {
    return await run(argv, io.env, io.terminal);
  } catch (err) {
    const known = err instanceof UsageError || err instanceof AppError || err instanceof ConfigError || isParseArgsError(err);
    const message = known || err instanceof Error ? (err as Error).message : String(err);
    io.terminal.err(`gatehouse: ${message.split('\n')[0]}\n`);
    return known ? 2 : 1;
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv, terminal: Terminal): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const [command, ...rest] = args;
  if (!command || command === '--help' || command === 'help') {
    terminal.out(`${USAGE}\n`);
    return command ? 0 : 1;
  }
  const config = loadConfig(env);
  if (command === 'serve') {
    parseArgs({ args: rest, options: {}, strict: true });
    // Loaded only to serve: commands never load the HTTP layer.
    const { serve } = await import('../server.ts');
    await serve(config);
    return 0;
  }
  if (command === 'migrate') {
    await migrate(config, { json, terminal });
    return 0;
  }
  const group = GROUPS[command];
  if (!group) throw new UsageError(`unknown command: ${command}`);
  // Commands log only warnings, to stderr, so stdout stays clean for --json consumers. Beside a
  // server on the embedded database they go through that server (embedded-socket.ts).
  const logger = pino({ level: 'warn' }, { write: (line: string) => terminal.err(line) });
  const core = await createCore(config, { joinRunningServer: true, logger });
  try {
    await group({ args: rest, json, config, services: core.services, terminal });
  } finally {
    await core.close();
  }
  return 0;
}

async function migrate(config: Config, out: Output): Promise<void> {
  const db = createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, joinRunningServer: true });
  try {
    const applied = await runMigrations(db.knex, undefined, { isEmbedded: db.isEmbedded });
    print(out, { applied }, () => (applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date'));
  } finally {
    await db.close();
  }
}

function isParseArgsError(err: unknown): boolean {
  return typeof (err as { code?: string })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
