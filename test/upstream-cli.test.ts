import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, useCliStorage } from './support/cli-in-process.ts';
import { startTestGatehouse } from './support/test-gatehouse.ts';
import { registerRelyingParty, upstreamFlow } from './support/upstream-flow.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';

const SECRET = 'cli-upstream-secret-never-printed-4e1f';

// Commands run one after another (embedded PGlite allows one process), then a server on the same
// database signs someone in through the upstream the CLI added.
describe('gatehouse upstreams (CLI)', { timeout: 180_000 }, () => {
  let up: OidcUpstream;
  const setup = useCliStorage({
    ISSUER: 'https://id.example.test',
    UPSTREAM_GOOGLE_CLIENT_ID: 'g',
    UPSTREAM_GOOGLE_CLIENT_SECRET: 'google-env-secret-unprinted',
  });
  const cli = (args: string[], input?: string) => runCliInProcess(args, setup.env, { input });

  beforeAll(async () => {
    up = await startOidcUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });

  it('adds an OpenID Connect upstream with its secret from stdin, and prints the redirect URI to register', async () => {
    const result = await cli(
      [
        'upstreams',
        'add',
        '--id',
        'corp',
        '--kind',
        'oidc',
        '--name',
        'Corp SSO',
        '--issuer',
        up.issuer,
        '--client-id',
        'gatehouse-corp',
        '--client-secret-stdin',
        '--json',
      ],
      `${SECRET}\n`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      id: 'corp',
      kind: 'oidc',
      name: 'Corp SSO',
      issuer: up.issuer,
      clientId: 'gatehouse-corp',
      scope: 'openid email profile',
      source: 'database',
      redirectUri: 'https://id.example.test/upstream/corp/callback',
    });
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('lists upstreams from the environment and the database, never their secrets', async () => {
    const result = await cli(['upstreams', 'list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ID\s+KIND\s+NAME\s+SOURCE/);
    expect(result.stdout).toMatch(/google\s+oidc\s+Google\s+environment/);
    expect(result.stdout).toMatch(/corp\s+oidc\s+Corp SSO\s+database\s+gatehouse-corp\s+https:\/\/id\.example\.test\/upstream\/corp\/callback/);
    expect(result.stdout).not.toMatch(/secret-/);
  });

  it.each([
    [
      ['--id', 'corp', '--kind', 'oidc', '--name', 'Again', '--issuer', 'https://sso.example.com', '--client-id', 'x', '--client-secret-stdin'],
      /already exists/,
    ],
    [
      ['--id', 'google', '--kind', 'oidc', '--name', 'G', '--issuer', 'https://accounts.google.com', '--client-id', 'x', '--client-secret-stdin'],
      /configured in the environment/,
    ],
    [['--id', 'plain', '--kind', 'oidc', '--name', 'Plain', '--issuer', 'http://sso.example.com', '--client-id', 'x', '--client-secret-stdin'], /https/],
    [['--id', 'Bad Id', '--kind', 'oidc', '--name', 'B', '--issuer', 'https://sso.example.com', '--client-id', 'x', '--client-secret-stdin'], /id must be/],
    [['--id', 'nosecret', '--kind', 'oidc', '--name', 'N', '--issuer', 'https://sso.example.com', '--client-id', 'x'], /--client-secret-stdin is required/],
    [['--id', 'x', '--kind', 'saml', '--name', 'X', '--client-id', 'x', '--client-secret-stdin'], /kind must be/],
  ])('refuses a bad add with a one-line reason (%#)', async (args, reason) => {
    const result = await cli(['upstreams', 'add', ...args], 'some-secret');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
    expect(result.stderr).toMatch(reason);
  });

  it('stores the secret sealed; a server on the same database signs in through the upstream', async () => {
    const gh = await startTestGatehouse(setup.storage, { DATA_DIR: setup.dataDir });
    try {
      const [row] = await gh.knex('upstreams').where({ id: 'corp' });
      expect(JSON.stringify(row)).not.toContain(SECRET);
      up.start([{ client_id: 'gatehouse-corp', client_secret: SECRET, redirect_uris: [`${gh.issuer}/upstream/corp/callback`] }]);
      up.users.set('cli-user', { email: 'cli-user@example.test', email_verified: true });
      up.behaviour.subject = 'cli-user';
      const claims = await upstreamFlow(gh, await registerRelyingParty(gh), up.issuer).signIn('corp');
      expect(claims.sub).toBe((await gh.services.accounts.findByEmail('cli-user@example.test'))!.id);
    } finally {
      await gh.stop();
    }
  });

  it('removes an upstream; an environment upstream cannot be removed', async () => {
    const removed = await cli(['upstreams', 'remove', 'corp']);
    expect(removed.code, removed.stderr).toBe(0);
    const list = JSON.parse((await cli(['upstreams', 'list', '--json'])).stdout) as { id: string }[];
    expect(list.map((u) => u.id)).toEqual(['google']);
    const refused = await cli(['upstreams', 'remove', 'google']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/environment/);
    expect((await cli(['upstreams', 'remove', 'corp'])).stderr).toMatch(/no upstream corp/);
  });
});
