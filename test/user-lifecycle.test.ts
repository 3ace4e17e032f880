import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import argon2 from 'argon2';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { loginInteraction, registerApp, signInForTokens } from './support/account-lifecycle.ts';
import { runCliInProcess, useCliStorage } from './support/cli-in-process.ts';
import { oauthError } from './support/oauth-error.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const t = MESSAGES.en;
const cli = { via: 'cli' as const };

/** Django's PBKDF2PasswordHasher.encode, in Node. */
const djangoHash = (password: string, iterations = 600_000, salt = randomBytes(9).toString('base64url')) =>
  `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`;

describe('operators and the users lifecycle', { timeout: 120_000 }, () => {
  let smtp: TestSmtp;
  let config: oauth.Configuration;
  let adminToken: string;
  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  const gh = useTestGatehouse(() => ({ SMTP_URL: smtp.url }));

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gh.issuer}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: admin API bodies of many shapes, read only by assertions
    const json = res.status === 204 ? undefined : ((await res.json()) as Record<string, any>);
    return { status: res.status, body: json };
  };
  const passwordHashOf = async (email: string) => (await gh.knex('accounts').where({ email }).first('password_hash'))?.password_hash as string | null;

  beforeAll(async () => {
    config = await registerApp(gh);
    const audience = `${gh.issuer}/admin`;
    const ops = await gh.services.clients.registerClient({ name: 'ops', grantTypes: ['client_credentials'], resources: [audience], scope: 'admin' });
    const opsConfig = await oauth.discovery(new URL(gh.issuer), ops.client.client_id, undefined, oauth.ClientSecretBasic(ops.clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
    adminToken = (await oauth.clientCredentialsGrant(opsConfig, { resource: audience, scope: 'admin' })).access_token;
  });

  it('disables a user (admin API): their refresh token, userinfo and sign-in are refused; enabled again, they sign in', async () => {
    const user = { email: 'disabled@example.test', password: 'a passphrase soon disabled' };
    const account = await gh.services.accounts.registerAccount(user);
    const { tokens } = await signInForTokens(config, user);
    expect(await oauth.fetchUserInfo(config, tokens.access_token, account.id)).toMatchObject({ sub: account.id });

    const disabled = await admin('POST', `/users/${account.id}/disable`);
    expect(disabled).toMatchObject({ status: 200, body: { id: account.id, disabledAt: expect.any(String), hasPassword: true } });
    expect(await oauthError(oauth.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });
    await expect(oauth.fetchUserInfo(config, tokens.access_token, account.id)).rejects.toThrow();

    // The right password: a clear page, no sign-in. A wrong one: the usual answer.
    const ua = createUserAgent();
    const interaction = await loginInteraction(ua, config);
    const right = await ua.postForm(`${interaction}/login`, user);
    expect(right.status).toBe(403);
    expect(await right.text()).toContain(t.accountDisabled.message);
    const wrong = await ua.postForm(`${interaction}/login`, { ...user, password: 'not the passphrase at all' });
    expect(wrong.status).toBe(401);
    expect(ua.jar.has('_session')).toBe(false);
    // A disabled user gets no reset link either (the page says the same as for anyone).
    expect((await admin('POST', `/users/${account.id}/send-reset`, {})).status).toBe(409);

    expect(await admin('POST', `/users/${account.id}/enable`)).toMatchObject({ status: 200, body: { disabledAt: null } });
    const again = await signInForTokens(config, user);
    expect(again.tokens.refresh_token).toBeTruthy();
    await gh.services.audit.flush(); // sign-in outcomes are buffered writes
    const types = (await gh.services.audit.list({ accountId: account.id })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.disabled', 'user.enabled', 'user.signed_out_everywhere', 'sign_in.refused']));
    expect((await gh.services.audit.list({ type: 'admin.user.disable' })).length).toBe(1);
  });

  it('refuses a disabled user at findAccount too: a refresh token or access token that outlived the sign-out does not work', async () => {
    const user = { email: 'disabled-2@example.test', password: 'another passphrase soon disabled' };
    const account = await gh.services.accounts.registerAccount(user);
    const { tokens } = await signInForTokens(config, user);
    // Disabled in storage only (no sign-out): what a token issued in a race would meet.
    await gh.knex('accounts').where({ id: account.id }).update({ disabled_at: new Date() });
    expect(await oauthError(oauth.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });
    await expect(oauth.fetchUserInfo(config, tokens.access_token, account.id)).rejects.toThrow();
  });

  it('imports bcrypt ($2a$, $2b$, $2y$), Django and argon2 users, who sign in with their old passwords and are rehashed to argon2id', async () => {
    const b = await bcryptHash('bcrypt user passphrase', 10); // $2b$
    const lines = [
      { email: 'bcrypt-b@example.test', name: 'B', email_verified: true, password_hash: b },
      { email: 'bcrypt-a@example.test', password_hash: b.replace(/^\$2b\$/, '$2a$') },
      { email: 'bcrypt-y@example.test', password_hash: b.replace(/^\$2b\$/, '$2y$') },
      { email: 'django@example.test', name: 'Dj', password_hash: djangoHash('django user passphrase') },
      { email: 'argon2i@example.test', password_hash: await argon2.hash('argon2 user passphrase', { type: argon2.argon2i, memoryCost: 8192, timeCost: 3 }) },
      { email: 'no-password@example.test', email_verified: true },
    ];
    const result = await gh.services.users.import(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`, cli);
    expect(result.imported).toBe(6);

    for (const [email, password] of [
      ['bcrypt-b@example.test', 'bcrypt user passphrase'],
      ['bcrypt-a@example.test', 'bcrypt user passphrase'],
      ['bcrypt-y@example.test', 'bcrypt user passphrase'],
      ['django@example.test', 'django user passphrase'],
      ['argon2i@example.test', 'argon2 user passphrase'],
    ] as const) {
      const ua = createUserAgent();
      const interaction = await loginInteraction(ua, config);
      expect((await ua.postForm(`${interaction}/login`, { email, password: 'a wrong password here' })).status, email).toBe(401);
      expect(await passwordHashOf(email)).not.toMatch(/^\$argon2id\$/); // a failed sign-in rehashes nothing
      const { tokens } = await signInForTokens(config, { email, password });
      expect(tokens.claims()!.sub).toBeTruthy();
      expect(await passwordHashOf(email), email).toMatch(/^\$argon2id\$v=19\$m=19456,/);
      expect(await gh.services.accounts.authenticate(email, password)).toBeTruthy(); // and the new hash works
    }
    const shown = await admin('GET', `/users/${(await gh.services.accounts.findByEmail('bcrypt-b@example.test'))!.id}`);
    expect(shown.body).toMatchObject({ email: 'bcrypt-b@example.test', emailVerified: true, name: 'B', hasPassword: true });
    expect(JSON.stringify(shown.body)).not.toContain('$argon2');
    expect((await gh.services.accounts.findByEmail('no-password@example.test'))?.emailVerified).toBe(true);
  });

  it('imports nothing from a file with bad lines, and names every one by its number without printing a hash', async () => {
    await gh.services.accounts.registerAccount({ email: 'already@example.test', password: 'an existing passphrase' });
    const secretHash = await bcryptHash('x', 4);
    const file = [
      JSON.stringify({ email: 'fine-1@example.test', password_hash: djangoHash('fine one passphrase', 1000) }),
      '',
      `{"email": "broken@example.test", "password_hash": "${secretHash}"`, // line 3: not JSON
      JSON.stringify({ email: 'weird@example.test', password_hash: `$2b$31$${secretHash.slice(7)}` }), // cost 31
      JSON.stringify({ email: 'unknown@example.test', password_hash: 'md5$abc$def' }),
      JSON.stringify({ email: 'fine-1@example.test', password_hash: secretHash }), // duplicate of line 1
      JSON.stringify({ email: 'nothing@example.test' }),
      JSON.stringify({ email: 'extra@example.test', password_hash: secretHash, role: 'admin' }),
    ].join('\n');
    const err = await gh.services.users.import(file, cli).then(
      () => undefined,
      (e: unknown) => e as { problems: { line: number; problem: string }[]; message: string },
    );
    expect(err?.problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(JSON.stringify(err)).not.toContain(secretHash.slice(7));
    expect(err!.message).not.toContain(secretHash.slice(7));
    expect(await gh.services.accounts.findByEmail('fine-1@example.test')).toBeUndefined();

    // Lines that are fine by themselves, but one address already has an account: still nothing.
    const conflict = [
      JSON.stringify({ email: 'fine-2@example.test', password_hash: secretHash }),
      JSON.stringify({ email: 'already@example.test', password_hash: secretHash }),
    ].join('\n');
    const err2 = await gh.services.users.import(conflict, cli).then(
      () => undefined,
      (e: unknown) => e as { problems: { line: number }[] },
    );
    expect(err2?.problems).toEqual([{ line: 2, problem: 'an account already holds this email address' }]);
    expect(await gh.services.accounts.findByEmail('fine-2@example.test')).toBeUndefined();
  });

  it('lists users a page at a time, searches by address, and updates name, email and email_verified', async () => {
    for (let i = 0; i < 5; i += 1) await gh.services.accounts.registerAccount({ email: `paged-${i}@list.test`, password: `a passphrase for page ${i}` });
    const first = await admin('GET', '/users?search=@LIST.test&limit=2');
    expect(first.body!.users.map((u: { email: string }) => u.email)).toEqual(['paged-0@list.test', 'paged-1@list.test']);
    const second = await admin('GET', `/users?search=@list.test&limit=2&cursor=${first.body!.nextCursor}`);
    expect(second.body!.users.map((u: { email: string }) => u.email)).toEqual(['paged-2@list.test', 'paged-3@list.test']);
    const third = await admin('GET', `/users?search=@list.test&limit=2&cursor=${second.body!.nextCursor}`);
    expect(third.body!.users.map((u: { email: string }) => u.email)).toEqual(['paged-4@list.test']);
    expect(third.body!.nextCursor).toBeUndefined();
    expect((await admin('GET', '/users?search=%25')).body!.users).toEqual([]); // % is a character, not a wildcard
    expect((await admin('GET', '/users?cursor=garbage')).status).toBe(400);

    const id = first.body!.users[0].id as string;
    const updated = await admin('PATCH', `/users/${id}`, { name: 'Paged Zero', email: 'Zero@List.test', email_verified: true });
    expect(updated).toMatchObject({ status: 200, body: { name: 'Paged Zero', email: 'zero@list.test', emailVerified: true } });
    expect(await admin('PATCH', `/users/${id}`, { email: 'paged-1@list.test' })).toMatchObject({ status: 409, body: { error: 'conflict' } });
    expect(await admin('PATCH', `/users/${id}`, { email: 'not an address' })).toMatchObject({ status: 400, body: { error: 'invalid_email' } });
    expect((await gh.services.audit.list({ accountId: id, type: 'user.updated' }))[0]!.details).toMatchObject({
      fields: ['email', 'email_verified', 'name'],
      via: 'admin_api',
    });
  });

  it("sends a reset link on an operator's word", async () => {
    const account = await gh.services.accounts.registerAccount({ email: 'reset-me@example.test', password: 'a passphrase to reset' });
    expect(await admin('POST', `/users/${account.id}/send-reset`, { locale: 'ko' })).toMatchObject({ status: 200, body: { sentTo: 'reset-me@example.test' } });
    const mail = await smtp.nextMessageFor('reset-me@example.test');
    expect(mail.subject).toBe('비밀번호를 재설정하세요 (Gatehouse)');
  });

  it('exports everything held about a user, and no hash, token or secret', async () => {
    const user = { email: 'export@example.test', password: 'a passphrase to export' };
    const account = await gh.services.accounts.registerAccount(user);
    const { tokens } = await signInForTokens(config, user);
    await gh.services.audit.flush(); // sign-ins are audited in batches
    const exported = await admin('GET', `/users/${account.id}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({ account: { id: account.id, email: user.email, hasPassword: true }, identities: [], grants: [{ offline: 1 }] });
    expect(exported.body!.auditEvents.map((e: { type: string }) => e.type)).toContain('sign_in.succeeded');
    const text = JSON.stringify(exported.body);
    expect(text).not.toMatch(/argon2|passwordHash|password_hash/);
    for (const secret of [tokens.access_token, tokens.refresh_token!, tokens.id_token!]) expect(text).not.toContain(secret);
  });

  it('deletes a user and everything of theirs; the audit trail keeps only their id', async () => {
    const user = { email: 'delete-me@example.test', password: 'a passphrase to delete', name: 'Delete Me' };
    const account = await gh.services.accounts.registerAccount(user);
    const { tokens } = await signInForTokens(config, user);
    expect((await admin('DELETE', `/users/${account.id}`)).status).toBe(204);
    expect(await gh.services.accounts.findById(account.id)).toBeUndefined();
    expect(await oauthError(oauth.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    for (const table of ['consents', 'sign_in_grants', 'upstream_identities', 'one_time_tokens']) {
      expect(Number((await gh.knex(table).where({ account_id: account.id }).count('* as n').first())!.n), table).toBe(0);
    }
    const deleted = (await gh.services.audit.list({ accountId: account.id, type: 'user.deleted' }))[0]!;
    expect(JSON.stringify(deleted)).not.toMatch(/delete-me|Delete Me/);
    expect(await admin('GET', `/users/${account.id}`)).toMatchObject({ status: 404 });
  });
});

// The CLI, in this process (runCliInProcess), against its own schema (as test/cli.test.ts does).
describe('gatehouse users (CLI)', { timeout: 180_000 }, () => {
  const setup = useCliStorage();
  const run = (args: string[]) => runCliInProcess(args, setup.env);

  it('imports a file all or nothing, reporting each bad line on stderr without its hash; then list, show, disable and export', async () => {
    const hash = await bcryptHash('cli import passphrase', 4);
    const bad = join(setup.dataDir, 'bad.jsonl');
    await writeFile(
      bad,
      [
        JSON.stringify({ email: 'one@cli.test', password_hash: hash }),
        `not json at all ${hash}`,
        JSON.stringify({ email: 'two@cli.test', password_hash: 'plain' }),
      ].join('\n'),
    );
    const refused = await run(['users', 'import', '--file', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n').filter(Boolean)).toEqual([
      'line 2: is not valid JSON',
      'line 3: password_hash is in no accepted form (bcrypt $2a$/$2b$/$2y$, Django pbkdf2_sha256$…, argon2 PHC $argon2id$…)',
      expect.stringMatching(/^gatehouse: nothing imported: 2 bad lines/),
    ]);
    expect(refused.stderr).not.toContain(hash.slice(7));
    expect(refused.stdout).toBe('');

    const good = join(setup.dataDir, 'good.jsonl');
    await writeFile(
      good,
      [
        JSON.stringify({ email: 'one@cli.test', name: 'One', password_hash: hash }),
        JSON.stringify({ email: 'two@cli.test', email_verified: true, password_hash: djangoHash('two', 1000) }),
      ].join('\n'),
    );
    const imported = await run(['users', 'import', '--file', good, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 2 });

    const listed = await run(['users', 'list', '--search', 'cli.test']);
    expect(listed.stdout).toMatch(/one@cli\.test\s+no\s+yes/);
    expect(listed.stdout).toMatch(/two@cli\.test\s+yes\s+yes/);
    const disabled = await run(['users', 'disable', '--email', 'one@cli.test', '--json']);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ email: 'one@cli.test', disabledAt: expect.any(String) });
    const exported = await run(['users', 'export', '--email', 'one@cli.test']);
    const data = JSON.parse(exported.stdout);
    expect(data.account).toMatchObject({ email: 'one@cli.test', name: 'One', hasPassword: true });
    expect(data.auditEvents.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['user.created', 'user.disabled']));
    expect(exported.stdout).not.toContain(hash.slice(7));
    expect((await run(['users', 'show', '--email', 'nobody@cli.test'])).stderr).toBe('gatehouse: no user nobody@cli.test\n');
  });
});
