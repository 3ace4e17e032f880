import { parseArgs } from 'node:util';
import { isSigningAlg, SIGNING_ALGS } from '../signing-keys/signer.ts';
import type { CommandContext } from './command-context.ts';
import { print, table, UsageError } from './output.ts';

const date = (d: Date | null) => (d ? d.toISOString() : '-');

export async function keysCommand({ args, json, services, terminal }: CommandContext): Promise<void> {
  const [sub, ...rest] = args;
  const store = services.signingKeys;
  const { positionals, values } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: { alg: { type: 'string' } } });
  if (values.alg !== undefined && (sub !== 'rotate' || !isSigningAlg(values.alg))) {
    throw new UsageError(`--alg goes with keys rotate, and is one of ${SIGNING_ALGS.join(', ')}`);
  }

  if (sub === 'list' && positionals.length === 0) {
    const keys = await store.listKeys();
    return print({ json, terminal }, keys, () =>
      table([
        ['KID', 'ALG', 'STATUS', 'CREATED', 'SIGNS FROM', 'RETIRED'],
        ...keys.map((k) => [k.kid, k.alg, k.status, date(k.createdAt), date(k.activatedAt ?? k.activatesAt), date(k.retiredAt)]),
      ]),
    );
  }
  if (sub === 'rotate' && positionals.length === 0) {
    const next = await store.rotate(isSigningAlg(values.alg) ? values.alg : undefined);
    return print(
      { json, terminal },
      next,
      () => `announced key ${next.kid}: published in the JWKS now, signs from ${date(next.activatesAt)} (once every cached JWKS has it)`,
    );
  }
  if (sub === 'revoke' && positionals.length === 1) {
    const { revoked, nowSigning } = await store.revoke(positionals[0]!);
    const breaks =
      revoked.status === 'retired' || revoked.status === 'active'
        ? 'every token it signed that has not expired now fails verification; resource servers refetch the JWKS when they meet the new kid'
        : 'nothing: it had not signed anything yet';
    return print(
      { json, terminal },
      { revoked, nowSigning, breaks },
      () => `revoked key ${revoked.kid} (was ${revoked.status}); now signing with ${nowSigning}.\nWhat this breaks: ${breaks}.`,
    );
  }
  throw new UsageError('usage: gatehouse keys list | keys rotate [--alg RS256|ES256|EdDSA] | keys revoke KID');
}
