import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { describe, expect, it } from 'vitest';
import { runCliInProcess, useCliStorage } from './support/cli-in-process.ts';
import { type CliResult, runCli } from './support/gatehouse-process.ts';
import { oauthError } from './support/oauth-error.ts';
import { startTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.example.test';
const PASSWORD = 'a long and correct passphrase';

/** A one-line reason on stderr, no stack trace, a non-zero exit. */
function expectRefusal(result: CliResult, reason: RegExp) {
  expect(result.code, result.stdout).not.toBe(0);
  expect(result.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
  expect(result.stderr).toMatch(reason);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
}

// What `node bin/gatehouse.js` adds to the commands: exit codes, stdin, and stdout/stderr of a real
// process. A few commands, since each process loads the whole program (seconds on a busy machine).
describe('the gatehouse CLI as a process', { timeout: 120_000 }, () => {
  const setup = useCliStorage();

  it('prints its usage and exits 1 without a command; refuses an unknown one with exit 2 and one line', async () => {
    const bare = await runCli([], setup.env);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/^usage: gatehouse <command>/);
    const unknown = await runCli(['frobnicate'], setup.env);
    expect(unknown.code).toBe(2);
    expectRefusal(unknown, /unknown command: frobnicate/);
  });

  it('migrates, reads a password from stdin, prints JSON on stdout, and refuses a duplicate with exit 2 and one line', async () => {
    const migrated = await runCli(['migrate'], setup.env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied: \d+_initial/);
    const created = await runCli(['users', 'create', '--email', 'ops@example.test', '--password-stdin', '--json'], setup.env, { input: `${PASSWORD}\n` });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ email: 'ops@example.test' });
    const duplicate = await runCli(['users', 'create', '--email', 'OPS@example.test', '--password-stdin'], setup.env, { input: PASSWORD });
    expect(duplicate.code).toBe(2);
    expectRefusal(duplicate, /already exists/);
  });
});

// The commands themselves, run in this process (runCliInProcess: the same code, output and exit
// codes, without a process each). Commands run one after another: each opens the database.
describe('the gatehouse CLI', { timeout: 180_000 }, () => {
  const setup = useCliStorage();
  const cli = (args: string[], input?: string) => runCliInProcess(args, setup.env, { input });
  const json = async (args: string[], input?: string) => {
    const result = await cli([...args, '--json'], input);
    expect(result.code, result.stderr).toBe(0);
    return { ...result, value: JSON.parse(result.stdout) };
  };
  const created: { clientId?: string; firstSecret?: string; rotatedSecret?: string } = {};

  it('migrates a fresh database, then reports it is up to date', async () => {
    const first = await cli(['migrate']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^applied: \d+_initial/);
    const second = await cli(['migrate']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('database is up to date');
  });

  it('creates an API with its scopes and access-token lifetime', async () => {
    const { value } = await json(['resources', 'create', '--identifier', API, '--scope', 'read write', '--access-token-ttl', '300']);
    expect(value).toEqual({ identifier: API, scopes: ['read', 'write'], accessTokenTtlSeconds: 300, isRbac: false, tokenClaims: [] });
  });

  it('creates a client and prints its secret once; show and list never print the secret or its hash', async () => {
    const { value: client } = await json(['clients', 'create', '--name', 'svc', '--resource', API, '--scope', 'read']);
    expect(client).toMatchObject({ client_name: 'svc', grant_types: ['client_credentials'], allowed_resources: [API], allowed_api_scopes: ['read'] });
    expect(client.client_id).toEqual(expect.any(String));
    expect(client.client_secret).toMatch(/^[\w-]{32,}$/);
    created.clientId = client.client_id;
    created.firstSecret = client.client_secret;

    const shown = await json(['clients', 'show', client.client_id]);
    expect(shown.value).toMatchObject({ client_id: client.client_id, client_name: 'svc' });
    expect(shown.value).not.toHaveProperty('client_secret');
    expect(shown.stdout).not.toContain(client.client_secret);
    expect(shown.stdout).not.toContain('hmac-sha256');

    const listed = await json(['clients', 'list']);
    expect(listed.value).toEqual([expect.objectContaining({ client_id: client.client_id })]);
    expect(listed.value[0]).not.toHaveProperty('client_secret');
    expect(listed.stdout).not.toContain(client.client_secret);
    expect(listed.stdout).not.toContain('hmac-sha256');
  });

  it('rotates a client secret and prints the new one', async () => {
    const { value } = await json(['clients', 'rotate-secret', created.clientId!]);
    expect(value).toEqual({ client_id: created.clientId, client_secret: expect.stringMatching(/^[\w-]{32,}$/) });
    expect(value.client_secret).not.toBe(created.firstSecret);
    created.rotatedSecret = value.client_secret;
  });

  it('deletes a client, after which show fails with a one-line reason', async () => {
    const { value: doomed } = await json(['clients', 'create', '--name', 'doomed', '--grant-type', 'client_credentials']);
    const deleted = await cli(['clients', 'delete', doomed.client_id]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(doomed.client_id);
    expectRefusal(await cli(['clients', 'show', doomed.client_id]), /no client/);
  });

  it('marks a client first-party with --first-party (users are never asked to consent to it)', async () => {
    const { value } = await json(['clients', 'create', '--name', 'own app', '--redirect-uri', 'https://app.example.test/cb', '--first-party']);
    expect(value).toMatchObject({ client_name: 'own app', first_party: true });
  });

  it('registers post-logout redirect URIs, a native app, and a private_key_jwt client from a --jwks file', async () => {
    const { value: native } = await json([
      'clients',
      'create',
      '--name',
      'desktop',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--application-type',
      'native',
      '--token-endpoint-auth-method',
      'none',
      '--post-logout-redirect-uri',
      'http://127.0.0.1/bye',
      '--post-logout-redirect-uri',
      'https://app.example.test/bye',
    ]);
    expect(native).toMatchObject({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      post_logout_redirect_uris: ['http://127.0.0.1/bye', 'https://app.example.test/bye'],
    });

    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwksFile = join(setup.dataDir, 'service-jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'svc-1' }] }));
    const keyed = await json(['clients', 'create', '--name', 'keyed', '--resource', API, '--scope', 'read', '--jwks', jwksFile]);
    expect(keyed.value).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kid: 'svc-1' }] } });
    expect(keyed.value).not.toHaveProperty('client_secret');
    const { value: remote } = await json([
      'clients',
      'create',
      '--name',
      'remote keys',
      '--resource',
      API,
      '--scope',
      'read',
      '--jwks-uri',
      'https://svc.example.test/jwks.json',
    ]);
    expect(remote).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.example.test/jwks.json' });

    expectRefusal(
      await cli(['clients', 'create', '--name', 'x', '--redirect-uri', 'https://a.example.test/cb', '--post-logout-redirect-uri', 'http://a.example.test/bye']),
      /post-logout redirect URI/,
    );
    expectRefusal(await cli(['clients', 'create', '--name', 'x', '--jwks', join(setup.dataDir, 'missing.json')]), /--jwks: cannot read/);
    expectRefusal(await cli(['clients', 'create', '--name', 'x', '--jwks-uri', 'http://svc.example.test/jwks.json']), /jwks_uri must be an https/);
    expectRefusal(await cli(['clients', 'create', '--name', 'x', '--redirect-uri', 'http://127.0.0.1/cb', '--application-type', 'phone']), /application type/);
  });

  it('makes an initial access token with registration-tokens create, and a client with a back-channel logout URI', async () => {
    const { value } = await json(['registration-tokens', 'create', '--resource', API, '--scope', 'read', '--expires-in', '3600']);
    expect(value).toMatchObject({ initial_access_token: expect.stringMatching(/^[\w-]{32,}$/), resources: [API], api_scopes: ['read'], public_only: false });
    expect(new Date(value.expires_at).getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expectRefusal(await cli(['registration-tokens', 'create', '--resource', API, '--scope', 'delete']), /scope delete/);
    const rp = (logoutUri: string) => [
      'clients',
      'create',
      '--name',
      'rp',
      '--redirect-uri',
      'https://rp.example.test/cb',
      '--backchannel-logout-uri',
      logoutUri,
    ];
    const { value: client } = await json(rp('https://rp.example.test/logout'));
    expect(client).toMatchObject({ backchannel_logout_uri: 'https://rp.example.test/logout' });
    expectRefusal(await cli(rp('http://rp.example.test/logout')), /back-channel logout URI/);
  });

  it('creates a user from a password on stdin and refuses a duplicate email with a one-line reason', async () => {
    const { value } = await json(['users', 'create', '--email', 'ops@example.test', '--password-stdin', '--name', 'Ops'], `${PASSWORD}\n`);
    expect(value).toMatchObject({ id: expect.any(String), email: 'ops@example.test', name: 'Ops' });
    expect(JSON.stringify(value)).not.toContain(PASSWORD);
    expectRefusal(await cli(['users', 'create', '--email', 'OPS@example.test', '--password-stdin'], PASSWORD), /already exists/);
  });

  it('lists one active RS256 signing key and no private key material', async () => {
    const { value, stdout } = await json(['keys', 'list']);
    expect(value).toEqual([expect.objectContaining({ kid: expect.any(String), alg: 'RS256', status: 'active' })]);
    expect(stdout).not.toMatch(/"(d|p|q|dp|dq|qi)"\s*:/);
    expect(stdout).not.toMatch(/privateJwkEncrypted|private_jwk/i);
  });

  it('announces a key with keys rotate, and revokes one with keys revoke, saying what that breaks', async () => {
    const { value: next } = await json(['keys', 'rotate']);
    expect(next).toMatchObject({ status: 'next', alg: 'RS256', activatesAt: expect.any(String) });
    expect(new Date(next.activatesAt).getTime()).toBeGreaterThan(Date.now() + 600_000); // after the JWKS max-age
    const { value: keys } = await json(['keys', 'list']);
    expect(keys.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'next']);
    const active = keys.find((k: { status: string }) => k.status === 'active');
    const { value: revoked } = await json(['keys', 'revoke', next.kid]);
    expect(revoked).toMatchObject({ revoked: { kid: next.kid, status: 'next' }, nowSigning: active.kid, breaks: expect.stringMatching(/nothing/) });
    expectRefusal(await cli(['keys', 'revoke', 'no-such-kid']), /no signing key/);
  });

  it('signs a user out everywhere with users revoke-sessions', async () => {
    const { value } = await json(['users', 'revoke-sessions', '--email', 'ops@example.test']);
    expect(value).toMatchObject({ accountId: expect.any(String), tokensIssuedBefore: expect.any(Number) });
    expectRefusal(await cli(['users', 'revoke-sessions', '--email', 'nobody@example.test']), /no user/);
    const { value: events } = await json(['audit', '--type', 'user.signed_out_everywhere']);
    expect(events).toEqual([expect.objectContaining({ type: 'user.signed_out_everywhere', accountId: value.accountId })]);
    expectRefusal(await cli(['audit', '--limit', 'lots']), /--limit/);
    // Operator changes made from the command line are in the trail, marked as such, and filterable.
    const { value: created } = await json(['audit', '--type', 'user.created', '--account', value.accountId]);
    expect(created).toEqual([expect.objectContaining({ accountId: value.accountId, details: { via: 'cli' } })]);
    const { value: clientEvents } = await json(['audit', '--type', 'client.created', '--since', '2026-01-01']);
    expect(clientEvents.length).toBeGreaterThan(0);
    expect(clientEvents.every((e: { details: { via: string } }) => e.details.via === 'cli')).toBe(true);
    expectRefusal(await cli(['audit', '--since', 'yesterday']), /--since/);
  });

  it.each([
    ['an unknown command', ['frobnicate'], /unknown command: frobnicate/],
    ['an unknown flag', ['clients', 'create', '--name', 'x', '--colour', 'red'], /--colour/],
    ['a missing --name', ['clients', 'create', '--grant-type', 'client_credentials'], /--name is required/],
    ['the implicit grant', ['clients', 'create', '--name', 'x', '--grant-type', 'implicit'], /implicit/],
    ['an API identifier that is not a URI', ['resources', 'create', '--identifier', 'notauri', '--scope', 'a'], /identifier/],
    [
      'a non-numeric access-token lifetime',
      ['resources', 'create', '--identifier', 'https://x.example.test', '--scope', 'a', '--access-token-ttl', 'abc'],
      /--access-token-ttl/,
    ],
    ['a redirect URI that is not a URL', ['clients', 'create', '--name', 'x', '--redirect-uri', 'not a url'], /redirect/],
  ])('refuses %s with a one-line reason and no stack trace', async (_name, args, reason) => {
    expectRefusal(await cli(args), reason);
  });

  // Last: in embedded mode the in-process server takes over the data directory from the CLI.
  it('issues tokens at a server on the same storage for the secret the CLI printed, and not for the rotated-out one', async () => {
    const gh = await startTestGatehouse(setup.storage);
    try {
      const options = { execute: [oauth.allowInsecureRequests] };
      const configure = (secret: string) => oauth.discovery(new URL(gh.issuer), created.clientId!, undefined, oauth.ClientSecretBasic(secret), options);

      const tokens = await oauth.clientCredentialsGrant(await configure(created.rotatedSecret!), { scope: 'read' });
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
      expect(payload).toMatchObject({ client_id: created.clientId, scope: 'read' });
      expect(payload.exp! - payload.iat!).toBe(300);

      const stale = await configure(created.firstSecret!);
      expect(await oauthError(oauth.clientCredentialsGrant(stale, { scope: 'read' }))).toEqual({ status: 401, error: 'invalid_client' });
    } finally {
      await gh.stop();
    }
  });
});
