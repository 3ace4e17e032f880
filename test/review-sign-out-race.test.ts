import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { testDatabaseUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.sign-out-race.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'race@example.test', password: 'correct horse battery staple' };
const options = { execute: [oauth.allowInsecureRequests] };

/**
 * Sign out everywhere (issue 10's revocation) against a refresh rotation (issue 11's one-transaction
 * rotation) in flight: the cut-off on `sub` is recorded first, then the account's rows are purged.
 * A refresh that rotates between the two, a second or more after the cut-off, is issued an access
 * token the cut-off does not cover, and the purge (plain row deletes, no Grant destroy) records no
 * grant revocation either: the token stays good for its whole lifetime.
 */
// It holds the purge inside Postgres (a trigger that sleeps) and watches it in pg_stat_activity.
describe.runIf(testDatabaseUrl)('sign out everywhere while a refresh rotates', () => {
  const gh = useTestGatehouse();
  let web: oauth.Configuration;
  let api: { id: string; secret: string };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    const app = await gh.services.clients.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scope: 'openid offline_access read', resources: [API] });
    web = await oauth.discovery(new URL(gh.issuer), app.client.client_id, undefined, oauth.ClientSecretBasic(app.clientSecret!), options);
    const own = await gh.services.clients.registerClient({ name: 'the API', canIntrospect: true, resources: [API] });
    api = { id: own.client.client_id, secret: own.clientSecret! };
  });

  const introspect = async (token: string) => {
    const res = await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${api.id}:${api.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return ((await res.json()) as { active: boolean }).active;
  };

  it('leaves no access token of that user valid, not even one from a rotation that committed during the purge', async () => {
    const flow = await startCodeFlow(web, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent', resource: API });
    const tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));

    // The next DELETE on oidc_payloads (the purge's) waits 2 s before it touches a row: the window
    // in which a rotation can commit between the cut-off and the purge, made wide enough to hit.
    await gh.knex.raw('create table purge_delayed (at timestamptz)');
    await gh.knex.raw(`create function delay_first_delete() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from purge_delayed) then insert into purge_delayed values (now()); perform pg_sleep(2); end if;
        return null;
      end $$`);
    await gh.knex.raw('create trigger delay_purge before delete on oidc_payloads for each statement execute function delay_first_delete()');

    const signedOut = gh.services.signOutEverywhere(user.email);
    // The cut-off is recorded and the purge is waiting (its insert above is not visible outside its
    // transaction, its sleep is); a second later (so iat > iat_before) the client refreshes.
    const sleeping = async () => {
      const { rows } = await gh.knex.raw<{ rows: { n: number }[] }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep' and query ilike '%delete from \"oidc_payloads\"%'",
      );
      return rows[0]!.n;
    };
    await vi.waitFor(async () => expect(await sleeping()).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    const cutOff = Math.floor(Date.now() / 1000);
    await vi.waitFor(() => expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(cutOff), { timeout: 3000, interval: 20 });
    const raced = await oauth.refreshTokenGrant(web, tokens.refresh_token!, { resource: API }).catch(() => undefined);
    await signedOut;

    expect(await introspect(tokens.access_token)).toBe(false);
    if (raced) {
      // The rotation won the race, with a token issued after the first cut-off: dead now too.
      expect(JSON.parse(atob(raced.access_token.split('.')[1]!)).iat).toBeGreaterThan(cutOff);
      expect(await introspect(raced.access_token)).toBe(false);
      await expect(oauth.refreshTokenGrant(web, raced.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    expect(raced, 'the refresh ran inside the purge window, as this test means it to').toBeDefined();
  });
});
