import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { decodeJwt } from 'jose';
import * as oauth from 'openid-client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { createVerifier, requireRole, type Verifier } from '../src/verifier/index.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { type Page, walkPages } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const DOCS = 'https://docs.permissions.test'; // checks roles (--rbac), asks for roles and tenant_id
const WIKI = 'https://wiki.permissions.test'; // does not check roles
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PASSWORD = 'a long permissions passphrase';
const t = MESSAGES.en;
const SCOPE = 'openid offline_access read write delete';

type Creds = { id: string; secret: string };

/**
 * The roles issue: an API's scopes used to go to every user of a client holding them. With
 * --rbac, a user token carries only what is requested, allowed to the client and granted by the
 * user's roles; the token can name the roles and carry operator-set attributes; a role taken
 * away shows at the next refresh; the verifier and /forward-auth check roles.
 */
describe('permissions in the token', () => {
  const gh = useTestGatehouse();
  let webApp: oauth.Configuration;
  let service: Creds;
  let docsApiClient: Creds;
  const open: Verifier[] = [];
  const servers: Server[] = [];
  const users = {
    ann: 'ann@permissions.test',
    bob: 'bob@permissions.test',
    cat: 'cat@permissions.test',
    dan: 'dan@permissions.test',
    eve: 'eve@permissions.test',
  };

  beforeAll(async () => {
    const { resources, roles, accounts, clients } = gh.services;
    await resources.createResource({ identifier: DOCS, scope: 'read write delete', isRbac: true, tokenClaims: ['roles', 'tenant_id'] });
    await resources.createResource({ identifier: WIKI, scope: 'read write' });
    await roles.createRole({ resource: DOCS, name: 'reader', scope: 'read' });
    await roles.createRole({ resource: DOCS, name: 'editor', scope: 'read write' });
    await roles.createRole({ resource: WIKI, name: 'reader', scope: 'read' });
    for (const email of Object.values(users)) await accounts.registerAccount({ email, password: PASSWORD });
    for (const who of ['ann', 'dan', 'eve'] as const) await roles.grantRole({ email: users[who], resource: DOCS, role: 'reader' });
    await roles.grantRole({ email: users.bob, resource: DOCS, role: 'editor' });
    await roles.setAttributes({ email: users.bob, attributes: { tenant_id: 'acme', employee_no: 4711 } });
    await roles.grantRole({ email: users.ann, resource: WIKI, role: 'reader' });

    const web = await clients.registerClient({ name: 'Docs Web', redirectUris: [REDIRECT_URI], scope: SCOPE, resources: [DOCS, WIKI] });
    webApp = await oauth.discovery(new URL(gh.issuer), web.client.client_id, undefined, oauth.ClientSecretBasic(web.clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
    const svc = await clients.registerClient({ name: 'Indexer', scope: 'read write delete', resources: [DOCS] });
    service = { id: svc.client.client_id, secret: svc.clientSecret! };
    const own = await clients.registerClient({ name: 'Docs API', canIntrospect: true, resources: [DOCS] });
    docsApiClient = { id: own.client.client_id, secret: own.clientSecret! };
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  /** Signs `email` in at the web app through the pages (allowing what is asked); the pages seen and the tokens. */
  async function signIn(email: string, params: Record<string, string> = {}) {
    const flow = await startCodeFlow(webApp, { redirect_uri: REDIRECT_URI, scope: SCOPE, resource: DOCS, prompt: 'consent', ...params });
    const { pages, callback } = await walkPages(createUserAgent(), flow.url, REDIRECT_URI, (p) =>
      p.kind === 'login' ? { post: 'login', fields: { email, password: PASSWORD } } : { post: 'confirm' },
    );
    expect(callback?.searchParams.get('code'), callback?.href).toBeTruthy();
    const tokens = await flow.redeem(callback!);
    return { pages, consent: pages.find((p) => p.kind === 'consent'), tokens };
  }
  const claimsOf = (accessToken: string) => decodeJwt(accessToken) as Record<string, unknown>;
  const shows = (page: Page | undefined, scope: string, api = DOCS) => page!.body.includes(t.scopes.api(scope, api));
  const verifier = async (revocation = false) => {
    const v = createVerifier({
      issuer: gh.issuer,
      audience: DOCS,
      logger: { warn: () => {} },
      ...(revocation ? { revocation: { clientId: docsApiClient.id, clientSecret: docsApiClient.secret, pollIntervalMs: 100 } } : {}),
    });
    open.push(v);
    await v.ready();
    return v;
  };

  it('gives two users of the same client different scopes for an --rbac API, each exactly what their roles allow', async () => {
    const ann = await signIn(users.ann);
    const bob = await signIn(users.bob);
    // The consent page asks only for what will be granted.
    expect([shows(ann.consent, 'read'), shows(ann.consent, 'write'), shows(ann.consent, 'delete')]).toEqual([true, false, false]);
    expect([shows(bob.consent, 'read'), shows(bob.consent, 'write'), shows(bob.consent, 'delete')]).toEqual([true, true, false]);
    expect(claimsOf(ann.tokens.access_token)).toMatchObject({ aud: DOCS, scope: 'read' });
    expect(claimsOf(bob.tokens.access_token)).toMatchObject({ aud: DOCS, scope: 'read write' });
    expect([ann.tokens.scope, bob.tokens.scope]).toEqual(['read', 'read write']);
    // The same client asking again (prompt=consent, nothing missing): the page still lists only
    // what the roles allow, and the token is the same.
    const again = await signIn(users.ann);
    expect([shows(again.consent, 'read'), shows(again.consent, 'write')]).toEqual([true, false]);
    expect(claimsOf(again.tokens.access_token).scope).toBe('read');
  });

  it('gives a user without any role of the API no token for it', async () => {
    const cat = await signIn(users.cat);
    expect(cat.consent!.body).not.toContain(DOCS);
    // What the user did allow (who they are): a userinfo token, not one for the API.
    expect(cat.tokens.access_token.split('.')).not.toHaveLength(3);
  });

  it("leaves an API without --rbac as it was: the client's scopes, whatever the roles", async () => {
    const ann = await signIn(users.ann, { resource: WIKI, scope: 'openid read write' });
    expect(claimsOf(ann.tokens.access_token)).toMatchObject({ aud: WIKI, scope: 'read write' });
    expect(claimsOf(ann.tokens.access_token).roles).toBeUndefined(); // WIKI asked for no claims
  });

  it("leaves client-credentials tokens as they were: the client's registered scopes are its permissions", async () => {
    const config = await oauth.discovery(new URL(gh.issuer), service.id, undefined, oauth.ClientSecretBasic(service.secret), {
      execute: [oauth.allowInsecureRequests],
    });
    const { access_token } = await oauth.clientCredentialsGrant(config, { resource: DOCS, scope: 'read write delete' });
    const claims = claimsOf(access_token);
    expect(claims).toMatchObject({ sub: service.id, scope: 'read write delete' });
    expect(claims.roles).toBeUndefined();
  });

  it('puts the roles claim and the declared attributes in the token, not the undeclared ones', async () => {
    const bob = claimsOf((await signIn(users.bob)).tokens.access_token);
    expect(bob).toMatchObject({ roles: ['editor'], tenant_id: 'acme' });
    expect(bob.employee_no).toBeUndefined();
    const ann = claimsOf((await signIn(users.ann)).tokens.access_token);
    expect(ann.roles).toEqual(['reader']);
    expect('tenant_id' in ann).toBe(false); // ann has no such attribute
  });

  it("refuses reserved claims as attributes and as an API's token claims", async () => {
    const { roles, resources } = gh.services;
    for (const name of ['scope', 'cnf', 'client_id', 'sub', 'aud', 'exp', 'nbf', 'act', 'gid', 'roles', 'email_verified', '__proto__']) {
      await expect(roles.setAttributes({ email: users.dan, attributes: { [name]: 'x' } }), name).rejects.toMatchObject({
        status: 400,
        code: 'invalid_attributes',
      });
    }
    for (const name of ['scope', 'cnf', 'client_id', 'iss', 'jti', 'nbf', 'act', 'gid']) {
      await expect(resources.updateResource(DOCS, { tokenClaims: ['roles', name] }), name).rejects.toMatchObject({ status: 400, code: 'invalid_resource' });
    }
    await expect(roles.setAttributes({ email: users.dan, attributes: { note: 'x'.repeat(5000) } })).rejects.toMatchObject({ code: 'invalid_attributes' });
    await expect(roles.setAttributes({ email: users.dan, attributes: ['tenant'] })).rejects.toMatchObject({ code: 'invalid_attributes' });
  });

  it('never lets stored attributes overwrite or add a reserved claim, even when storage was written behind the service', async () => {
    // The attack: reserved names put straight into Postgres (an old row, a hand-made fix, a bug
    // elsewhere). cnf would bind the token to an attacker's key (or make it unusable), nbf push
    // its start, scope/client_id/sub/gid impersonate.
    const dan = await gh.services.accounts.findByEmail(users.dan);
    const planted = {
      tenant_id: 'globex',
      cnf: { jkt: 'attacker-key-thumbprint' },
      nbf: 4_000_000_000,
      scope: 'read write delete',
      client_id: 'evil',
      sub: 'someone-else',
      gid: 'forged',
      act: { sub: 'admin' },
      iss: 'https://evil.test',
      aud: 'https://evil.test',
      roles: ['admin'],
    };
    await gh.knex('account_attributes').insert({ account_id: dan!.id, attributes: JSON.stringify(planted) });
    await gh
      .knex('resource_servers')
      .where({ identifier: DOCS })
      .update({ token_claims: JSON.stringify(['roles', 'tenant_id', ...Object.keys(planted)]) });
    await gh.services.resources.updateResource(DOCS, { isRbac: true }); // drops the cached API
    try {
      const { tokens } = await signIn(users.dan);
      const claims = claimsOf(tokens.access_token);
      expect(claims).toMatchObject({
        tenant_id: 'globex',
        roles: ['reader'],
        scope: 'read',
        sub: dan!.id,
        iss: gh.issuer,
        aud: DOCS,
        client_id: webApp.clientMetadata().client_id,
      });
      for (const reserved of ['cnf', 'nbf', 'act']) expect(claims[reserved], reserved).toBeUndefined();
      expect(claims.gid).not.toBe('forged');
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      const checked = await (await verifier()).verify(tokens.access_token);
      expect(checked).toMatchObject({ sub: dan!.id, scope: ['read'], roles: ['reader'] });
    } finally {
      await gh.knex('account_attributes').where({ account_id: dan!.id }).delete();
      await gh.services.resources.updateResource(DOCS, { tokenClaims: ['roles', 'tenant_id'] });
    }
  });

  it('shows a role taken away at the next refresh, and a refresh never gains a scope the consent did not cover', async () => {
    const { roles } = gh.services;
    await roles.grantRole({ email: users.eve, resource: DOCS, role: 'editor' });
    const eve = await signIn(users.eve);
    expect(claimsOf(eve.tokens.access_token)).toMatchObject({ scope: 'read write', roles: ['editor', 'reader'] });

    await roles.revokeRole({ email: users.eve, resource: DOCS, role: 'editor' });
    const narrowed = await oauth.refreshTokenGrant(webApp, eve.tokens.refresh_token!);
    expect(claimsOf(narrowed.access_token)).toMatchObject({ scope: 'read', roles: ['reader'] });
    expect(narrowed.scope).toBe('read');
    // Without --revoke-tokens the token issued before stays valid until it expires.
    expect((await (await verifier(true)).verify(eve.tokens.access_token)).scope).toEqual(['read', 'write']);

    // Given back: within what she consented to, the refresh carries it again.
    await roles.grantRole({ email: users.eve, resource: DOCS, role: 'editor' });
    const restored = await oauth.refreshTokenGrant(webApp, narrowed.refresh_token!);
    expect(claimsOf(restored.access_token).scope).toBe('read write');

    // A role ann never had when she consented: the refresh stays at what the grant holds
    // (RFC 6749 §6); a new authorization asks her for the new scope.
    const ann = await signIn(users.ann);
    await roles.grantRole({ email: users.ann, resource: DOCS, role: 'editor' });
    try {
      const refreshed = await oauth.refreshTokenGrant(webApp, ann.tokens.refresh_token!);
      expect(claimsOf(refreshed.access_token)).toMatchObject({ scope: 'read', roles: ['editor', 'reader'] });
      const again = await signIn(users.ann);
      expect([shows(again.consent, 'read'), shows(again.consent, 'write')]).toEqual([false, true]); // only what is new
      expect(claimsOf(again.tokens.access_token).scope).toBe('read write');
    } finally {
      await roles.revokeRole({ email: users.ann, resource: DOCS, role: 'editor' });
    }
  });

  it('keeps a refresh chain going without any scope of the API once every role is gone', async () => {
    const { roles } = gh.services;
    const dan = await signIn(users.dan);
    await roles.revokeRole({ email: users.dan, resource: DOCS, role: 'reader' });
    try {
      const bare = await oauth.refreshTokenGrant(webApp, dan.tokens.refresh_token!);
      const claims = claimsOf(bare.access_token);
      // Still the API's token (the consent covered it), but it carries nothing to act on.
      expect(claims).toMatchObject({ aud: DOCS, roles: [] });
      expect(claims.scope).toBeUndefined();
      const v = await verifier();
      const checked = await v.verify(bare.access_token);
      expect(checked.scope).toEqual([]);
      await roles.grantRole({ email: users.dan, resource: DOCS, role: 'reader' });
      expect(claimsOf((await oauth.refreshTokenGrant(webApp, bare.refresh_token!)).access_token).scope).toBe('read');
    } finally {
      await roles.grantRole({ email: users.dan, resource: DOCS, role: 'reader' });
    }
  });

  it("revokes the user's live tokens for that API when asked, and only those", async () => {
    const { roles } = gh.services;
    const docs = await signIn(users.eve);
    const wiki = await signIn(users.eve, { resource: WIKI, scope: 'openid read' });
    const bob = await signIn(users.bob);
    const v = await verifier(true);
    expect((await v.verify(docs.tokens.access_token)).sub).toBe(claimsOf(docs.tokens.access_token).sub);

    await roles.revokeRole({ email: users.eve, resource: DOCS, role: 'editor', revokeTokens: true });
    await vi.waitFor(async () => expect(v.verify(docs.tokens.access_token)).rejects.toMatchObject({ status: 401, description: 'the token has been revoked' }), {
      timeout: 8000,
      interval: 50,
    });
    expect((await v.verify(bob.tokens.access_token)).roles).toEqual(['editor']); // another user's token for the API
    const introspect = async (token: string, c = docsApiClient) => {
      const res = await fetch(`${gh.issuer}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${c.id}:${c.secret}`)}` },
        body: new URLSearchParams({ token }),
      });
      return ((await res.json()) as { active: boolean }).active;
    };
    expect(await introspect(docs.tokens.access_token)).toBe(false);
    expect(await introspect(bob.tokens.access_token)).toBe(true);
    // Her token for another API is untouched (its own API's verifier would accept it).
    const wikiVerifier = createVerifier({
      issuer: gh.issuer,
      audience: WIKI,
      logger: { warn: () => {} },
      revocation: { clientId: docsApiClient.id, clientSecret: docsApiClient.secret, pollIntervalMs: 100 },
    });
    open.push(wikiVerifier);
    await wikiVerifier.ready();
    expect((await wikiVerifier.verify(wiki.tokens.access_token)).aud).toBe(WIKI);
    // Her refresh token goes on, with what is left of her roles.
    const refreshed = await oauth.refreshTokenGrant(webApp, docs.tokens.refresh_token!);
    expect(claimsOf(refreshed.access_token)).toMatchObject({ scope: 'read', roles: ['reader'] });
  });

  it('refuses a token without the role in the verifier with 403 insufficient_scope (RFC 6750 §3.1)', async () => {
    const v = await verifier();
    const ann = await v.verify((await signIn(users.ann)).tokens.access_token);
    const bob = await v.verify((await signIn(users.bob)).tokens.access_token);
    expect(() => requireRole(bob, 'editor')).not.toThrow();
    expect(() => requireRole(ann, 'editor')).toThrow(
      expect.objectContaining({
        status: 403,
        code: 'insufficient_scope',
        wwwAuthenticate: `Bearer realm="${gh.issuer}", error="insufficient_scope", error_description="the token lacks a required role"`,
      }),
    );
    expect(() => requireRole(bob, ['editor', 'reader'])).toThrow(expect.objectContaining({ status: 403 })); // every role named

    const app = express();
    app.get('/edit', v.express({ scope: 'read', role: 'editor' }), (req, res) => void res.json({ roles: req.auth!.roles }));
    const server = createServer(app);
    servers.push(server);
    await once(server.listen(0, '127.0.0.1'), 'listening');
    const get = (token: string) => fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/edit`, { headers: { authorization: `Bearer ${token}` } });
    const [annToken, bobToken] = [(await signIn(users.ann)).tokens.access_token, (await signIn(users.bob)).tokens.access_token];
    const refused = await get(annToken);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer realm="${gh.issuer}", error="insufficient_scope", error_description="the token lacks a required role"`,
    );
    expect(await refused.json()).toEqual({ error: 'insufficient_scope', error_description: 'the token lacks a required role' });
    const allowed = await get(bobToken);
    expect([allowed.status, await allowed.json()]).toEqual([200, { roles: ['editor'] }]);
  });

  it('refuses a token without the role at /forward-auth with 403 insufficient_scope, in query and header mode', async () => {
    const [annToken, bobToken] = [(await signIn(users.ann)).tokens.access_token, (await signIn(users.bob)).tokens.access_token];
    const query = (token: string, q: string) =>
      fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(DOCS)}&${q}`, { headers: { authorization: `Bearer ${token}` } });
    const refused = await query(annToken, 'scope=read&role=editor');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer realm="${gh.issuer}", error="insufficient_scope", error_description="the token lacks a required role"`,
    );
    expect(refused.headers.get('x-auth-subject')).toBeNull();
    expect((await query(bobToken, 'scope=read&role=editor')).status).toBe(200);
    expect((await query(annToken, 'role=reader')).status).toBe(200);
    expect((await query(bobToken, 'role=editor+admin')).status).toBe(403); // every role named

    // Envoy's header mode: the client's path and query are its own, the gateway's headers decide.
    const header = (token: string, role: string) =>
      fetch(`${gh.issuer}/forward-auth/docs/1?role=reader`, {
        headers: { authorization: `Bearer ${token}`, 'x-forward-auth-audience': DOCS, 'x-forward-auth-role': role },
      });
    expect((await header(annToken, 'editor')).status).toBe(403);
    expect((await header(bobToken, 'editor')).status).toBe(200);
    // A client-credentials token has no roles: refused where a role is required.
    const config = await oauth.discovery(new URL(gh.issuer), service.id, undefined, oauth.ClientSecretBasic(service.secret), {
      execute: [oauth.allowInsecureRequests],
    });
    const { access_token } = await oauth.clientCredentialsGrant(config, { resource: DOCS, scope: 'read' });
    expect((await query(access_token, 'role=editor')).status).toBe(403);
  });

  it('records every change in the audit trail', async () => {
    await gh.services.roles.createRole({ resource: WIKI, name: 'auditor', scope: '' });
    await gh.services.roles.deleteRole({ resource: WIKI, name: 'auditor' });
    const types = new Set((await gh.services.audit.list({ limit: 1000 })).map((e) => e.type));
    for (const type of [
      'resource.created',
      'resource.updated',
      'role.created',
      'role.deleted',
      'user.role_granted',
      'user.role_revoked',
      'user.attributes_updated',
    ]) {
      expect(types, type).toContain(type);
    }
    const revoked = (await gh.services.audit.list({ type: 'user.role_revoked', limit: 100 })).find((e) => e.details?.tokens_revoked === true);
    expect(revoked).toMatchObject({ details: { resource: DOCS, role: 'editor', via: 'cli' } });
    const attributes = (await gh.services.audit.list({ type: 'user.attributes_updated', limit: 10 }))[0];
    expect(attributes!.details).toEqual({ keys: ['tenant_id', 'employee_no'], via: 'cli' }); // names, never values
  });
});
