import { parseArgs } from 'node:util';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

const USAGE = `usage: gatehouse resources create --identifier URI --scope "a b" [--access-token-ttl SECONDS] [--rbac] [--token-claim NAME]... [--signing-alg RS256|ES256|EdDSA]
       gatehouse resources update --identifier URI [--rbac | --no-rbac] [--token-claim NAME]... [--no-token-claims] [--signing-alg RS256|ES256|EdDSA]
       gatehouse resources list`;

export async function resourcesCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const resources = services.resources;
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        identifier: { type: 'string' },
        scope: { type: 'string' },
        'access-token-ttl': { type: 'string' },
        rbac: { type: 'boolean' },
        'token-claim': { type: 'string', multiple: true },
        'signing-alg': { type: 'string' },
      },
    });
    if (!values.identifier) throw new UsageError('--identifier is required');
    if (!values.scope) throw new UsageError('--scope is required');
    const ttl = values['access-token-ttl'];
    if (ttl !== undefined && !/^\d+$/.test(ttl)) throw new UsageError('--access-token-ttl must be a number of seconds');
    const created = await resources.createResource({
      identifier: values.identifier,
      scope: values.scope,
      accessTokenTtlSeconds: ttl === undefined ? undefined : Number(ttl),
      isRbac: values.rbac,
      tokenClaims: values['token-claim'],
      signingAlg: values['signing-alg'],
    });
    return print(
      { json, terminal },
      shown(created),
      () =>
        `created resource ${created.identifier} (scopes: ${created.scopes.join(' ')}; access tokens live ${created.accessTokenTtlSeconds}s${describeChecks(created)})`,
    );
  }
  if (sub === 'update') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      allowNegative: true, // --no-rbac; --no-token-claims is `token-claims: false`
      options: {
        identifier: { type: 'string' },
        rbac: { type: 'boolean' },
        'token-claim': { type: 'string', multiple: true },
        'token-claims': { type: 'boolean' },
        'signing-alg': { type: 'string' },
      },
    });
    if (!values.identifier) throw new UsageError('--identifier is required');
    if (values['token-claims'] === true) throw new UsageError('--token-claims takes no value: give --token-claim NAME for each, or --no-token-claims');
    const isClearingClaims = values['token-claims'] === false;
    if (isClearingClaims && values['token-claim']) throw new UsageError('give --token-claim or --no-token-claims, not both');
    const tokenClaims = isClearingClaims ? [] : values['token-claim'];
    const signingAlg = values['signing-alg'];
    if (values.rbac === undefined && tokenClaims === undefined && signingAlg === undefined) {
      throw new UsageError('nothing to change: give --rbac, --no-rbac, --token-claim, --no-token-claims or --signing-alg');
    }
    const updated = await resources.updateResource(values.identifier, { isRbac: values.rbac, tokenClaims, signingAlg });
    return print(
      { json, terminal },
      shown(updated),
      () => `updated resource ${updated.identifier}${describeChecks(updated) || ' (no role checking, no extra claims)'}`,
    );
  }
  if (sub === 'list') {
    parseArgs({ args: rest, strict: true, options: {} });
    const list = await resources.listResources();
    return print({ json, terminal }, list.map(shown), () =>
      table([
        ['IDENTIFIER', 'SCOPES', 'TTL', 'RBAC', 'TOKEN CLAIMS', 'ALG'],
        ...list.map((r) => [r.identifier, r.scopes.join(' '), `${r.accessTokenTtlSeconds}s`, r.isRbac ? 'yes' : 'no', r.tokenClaims.join(' '), r.signingAlg]),
      ]),
    );
  }
  throw new UsageError(USAGE);
}

/** JSON output as before per-API algorithms existed: `signingAlg` only when an API chose one. */
const shown = <T extends { signingAlg: string }>({ signingAlg, ...rest }: T) => (signingAlg === 'RS256' ? rest : { ...rest, signingAlg });

const describeChecks = (r: { isRbac: boolean; tokenClaims: string[]; signingAlg: string }) =>
  `${r.isRbac ? '; user tokens carry only what their roles grant' : ''}${r.tokenClaims.length ? `; token claims: ${r.tokenClaims.join(' ')}` : ''}` +
  (r.signingAlg === 'RS256' ? '' : `; access tokens signed ${r.signingAlg} once its key, announced now, signs (see keys list)`);
