import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, UsageError } from './output.ts';

/** `registration-tokens create`: an initial access token for REGISTRATION=token (RFC 7591 §3). */
export async function registrationTokensCommand({ args, json, config, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create')
    throw new UsageError(
      'usage: gatehouse registration-tokens create [--resource URI]... [--scope "..."] [--expires-in SECONDS] [--public-only] [--note TEXT]',
    );
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      resource: { type: 'string', multiple: true },
      scope: { type: 'string' },
      'expires-in': { type: 'string' },
      'public-only': { type: 'boolean' },
      note: { type: 'string' },
    },
  });
  const expires = values['expires-in'];
  if (expires !== undefined && !/^\d+$/.test(expires)) throw new UsageError('--expires-in must be a number of seconds');
  const made = await services.registrationTokens.create({
    apis: values.resource,
    scope: values.scope,
    expiresInSeconds: expires === undefined ? undefined : Number(expires),
    isPublicOnly: values['public-only'],
    note: values.note,
  });
  if (config.selfService.registration !== 'token') {
    terminal.err('gatehouse: note: REGISTRATION is not "token", so the server does not ask for this token yet\n');
  }
  const out = {
    initial_access_token: made.token,
    expires_at: made.expiresAt.toISOString(),
    resources: made.apis,
    api_scopes: made.apiScopes,
    public_only: made.isPublicOnly,
  };
  return print({ json, terminal }, out, () =>
    [
      `initial_access_token: ${made.token}`,
      `expires_at:           ${out.expires_at}`,
      `resources:            ${made.apis.join(' ') || '(none)'}`,
      `api scopes:           ${made.apiScopes.join(' ') || '(none)'}`,
      '(shown once: only its digest is kept with what it grants)',
    ].join('\n'),
  );
}
