import { randomUUID } from 'node:crypto';
import { type Grant, type KoaContextWithOIDC, Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../src/accounts/account-repository.ts';
import { createClientRepository } from '../src/clients/client-repository.ts';
import { isStandardScope } from '../src/clients/standard-scopes.ts';
import { createConsentRepository } from '../src/consents/consent-repository.ts';
import { type Consent, type ConsentService, createConsentService, intersectConsents, isEmptyConsent, mergeConsents } from '../src/consents/consent-service.ts';
import { addToGrant, createLoadExistingGrant, missingFromGrant } from '../src/oidc/load-existing-grant.ts';
import type { SignInGrants } from '../src/oidc/sign-in-grants.ts';
import { ENGINE_ISSUER, engineConfiguration, resourcesOf } from './support/engine-configuration.ts';
import { createTestDatabase } from './support/test-storage.ts';

/**
 * How a new consent joins what the user allowed before (consent-service.ts), and how a sign-in's
 * grant is filled from it without asking (load-existing-grant.ts): called directly, on real
 * oidc-provider Grants (the engine's in-memory storage) and the consents table. The page flows
 * in consent-memory.test.ts check the pages around them.
 */

const API = 'https://api.example.test';
const OTHER_API = 'https://other.example.test';
const consent = (c: Partial<Consent>): Consent => ({ oidcScopes: [], oidcClaims: [], resourceScopes: {}, ...c });

describe('merging and intersecting consents', () => {
  it('merges two consents into everything either allowed, each once, the earlier first', () => {
    const before = consent({ oidcScopes: ['openid', 'email'], oidcClaims: ['email'], resourceScopes: { [API]: ['read'] } });
    const added = consent({
      oidcScopes: ['email', 'profile'],
      oidcClaims: ['name', 'email'],
      resourceScopes: { [API]: ['write', 'read'], [OTHER_API]: ['admin'] },
    });
    expect(mergeConsents(before, added)).toEqual({
      oidcScopes: ['openid', 'email', 'profile'],
      oidcClaims: ['email', 'name'],
      resourceScopes: { [API]: ['read', 'write'], [OTHER_API]: ['admin'] },
    });
  });

  it('never takes anything away: merging in less, or nothing, keeps all', () => {
    const all = consent({ oidcScopes: ['openid', 'email'], resourceScopes: { [API]: ['read', 'write'] } });
    expect(mergeConsents(all, consent({ oidcScopes: ['openid'], resourceScopes: { [API]: [] } }))).toEqual(all);
    expect(mergeConsents(all, consent({}))).toEqual(all);
    expect(mergeConsents(consent({}), all)).toEqual(all);
  });

  it('keeps each API apart: the same scope name on two APIs is two scopes', () => {
    const merged = mergeConsents(consent({ resourceScopes: { [API]: ['read'] } }), consent({ resourceScopes: { [OTHER_API]: ['read'] } }));
    expect(merged.resourceScopes).toEqual({ [API]: ['read'], [OTHER_API]: ['read'] });
  });

  it('intersects what a request is missing with what was allowed, per API, in the request’s order', () => {
    const missing = consent({
      oidcScopes: ['profile', 'email'],
      oidcClaims: ['name', 'email'],
      resourceScopes: { [API]: ['write', 'read'], [OTHER_API]: ['admin'] },
    });
    const allowed = consent({
      oidcScopes: ['email', 'openid', 'profile'],
      oidcClaims: ['email'],
      resourceScopes: { [API]: ['read', 'delete'], [OTHER_API]: [] },
    });
    expect(intersectConsents(missing, allowed)).toEqual({ oidcScopes: ['profile', 'email'], oidcClaims: ['email'], resourceScopes: { [API]: ['read'] } });
  });

  it('drops an API from an intersection when nothing of it is common, or the other never named it', () => {
    expect(intersectConsents(consent({ resourceScopes: { [API]: ['read'] } }), consent({ resourceScopes: { [OTHER_API]: ['read'] } }))).toEqual(consent({}));
    expect(intersectConsents(consent({ resourceScopes: { [API]: ['read'] } }), consent({ resourceScopes: { [API]: ['write'] } }))).toEqual(consent({}));
  });

  it('calls a consent empty when it holds no scope or claim, APIs with no scopes included', () => {
    expect(isEmptyConsent(consent({}))).toBe(true);
    expect(isEmptyConsent(consent({ resourceScopes: { [API]: [], [OTHER_API]: [] } }))).toBe(true);
    expect(isEmptyConsent(consent({ oidcClaims: ['email'] }))).toBe(false);
    expect(isEmptyConsent(consent({ resourceScopes: { [API]: ['read'] } }))).toBe(false);
  });
});

describe('remembering consents (the consents table)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let consents: ConsentService;
  let accountId: string;
  const newClient = async () => {
    const clientId = randomUUID().replaceAll('-', '');
    await createClientRepository(db.knex).insert({ client_id: clientId, client_name: 'App', redirect_uris: [] });
    return clientId;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    consents = createConsentService({ repository: createConsentRepository(db.knex) });
    const account = await createAccountRepository(db.knex).insert({ email: 'mina@example.test', name: 'Mina', passwordHash: null });
    accountId = account!.id;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('remembers a consent as given, scopes per API', async () => {
    const clientId = await newClient();
    const given = consent({ oidcScopes: ['openid', 'email'], oidcClaims: ['email'], resourceScopes: { [API]: ['read', 'write'] } });
    await consents.remember(accountId, clientId, given);
    expect(await consents.rememberedFor(accountId, clientId)).toEqual(given);
  });

  it('adds each later consent to what is remembered, and never removes anything', async () => {
    const clientId = await newClient();
    await consents.remember(accountId, clientId, consent({ oidcScopes: ['openid'], resourceScopes: { [API]: ['read'] } }));
    await consents.remember(accountId, clientId, consent({ oidcScopes: ['email'], resourceScopes: { [API]: ['write'], [OTHER_API]: ['admin'] } }));
    await consents.remember(accountId, clientId, consent({ oidcScopes: ['openid'], resourceScopes: { [API]: ['read'] } }));
    expect(await consents.rememberedFor(accountId, clientId)).toEqual(
      consent({ oidcScopes: ['openid', 'email'], resourceScopes: { [API]: ['read', 'write'], [OTHER_API]: ['admin'] } }),
    );
  });

  it('remembers nothing for a consent that allowed nothing', async () => {
    const clientId = await newClient();
    await consents.remember(accountId, clientId, consent({ resourceScopes: { [API]: [] } }));
    expect(await consents.rememberedFor(accountId, clientId)).toBeUndefined();
    expect(await consents.clientsOf(accountId)).not.toContain(clientId);
  });

  it('keeps each client apart, and forgets one client without touching another', async () => {
    const [a, b] = [await newClient(), await newClient()];
    await consents.remember(accountId, a, consent({ oidcScopes: ['openid'] }));
    await consents.remember(accountId, b, consent({ oidcScopes: ['email'] }));
    expect(await consents.clientsOf(accountId)).toEqual(expect.arrayContaining([a, b]));
    expect(await consents.forget(accountId, a)).toBe(true);
    expect(await consents.rememberedFor(accountId, a)).toBeUndefined();
    expect(await consents.rememberedFor(accountId, b)).toEqual(consent({ oidcScopes: ['email'] }));
    expect(await consents.forget(accountId, a)).toBe(false);
  });

  it('answers for an id that is not an account with nothing, not a database error', async () => {
    const clientId = await newClient();
    expect(await consents.rememberedFor('not-a-uuid', clientId)).toBeUndefined();
    expect(await consents.clientsOf('not-a-uuid')).toEqual([]);
    expect(await consents.forget('not-a-uuid', clientId)).toBe(false);
  });
});

describe("filling a sign-in's grant from remembered consent (loadExistingGrant)", () => {
  const engine = new Provider(ENGINE_ISSUER, engineConfiguration({ resources: resourcesOf([{ identifier: API, scopes: ['read', 'write'] }]) }));
  let accountId: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let consents: ConsentService;
  let lookups = 0;
  let clientRepository: ReturnType<typeof createClientRepository>;

  beforeAll(async () => {
    db = await createTestDatabase();
    clientRepository = createClientRepository(db.knex);
    const repository = createConsentRepository(db.knex);
    const account = await createAccountRepository(db.knex).insert({ email: 'grants@example.test', name: null, passwordHash: null });
    accountId = account!.id;
    consents = createConsentService({
      repository: {
        ...repository,
        find: (accountId, clientId) => {
          lookups += 1;
          return repository.find(accountId, clientId);
        },
      },
    });
  });
  afterAll(async () => {
    await db?.drop();
  });
  /** A client of our own (consents belong to clients in the table), first-party or not. */
  const newClient = async (extras: Record<string, unknown> = {}) => {
    const clientId = randomUUID().replaceAll('-', '');
    await clientRepository.insert({ client_id: clientId, redirect_uris: [] });
    return { clientId, ...extras };
  };

  /** An authorization request as oidc-provider's context shows it to the hook. */
  type Request = { client: { clientId: string; first_party?: boolean }; scope: string; claims?: string[]; resource?: boolean; decidedGrantId?: string };
  const contextFor = (r: Request) => {
    const scopes = r.scope.split(' ');
    return {
      oidc: {
        provider: engine,
        client: r.client,
        account: { accountId },
        session: { grantIdFor: () => undefined },
        result: r.decidedGrantId ? { consent: { grantId: r.decidedGrantId } } : undefined,
        requestParamScopes: new Set(scopes),
        requestParamOIDCScopes: new Set(scopes.filter(isStandardScope)),
        requestParamClaims: new Set(r.claims ?? []),
        resourceServers: r.resource ? { [API]: { scopes: new Set(['read', 'write']) } } : {},
      },
    } as unknown as KoaContextWithOIDC;
  };
  /** The hook, given the grant the request signs in on (sign-in-grants.ts decides that; not tested here). */
  const load = async (r: Request, grant?: Grant) => {
    const onIt = grant ?? new engine.Grant({ accountId: accountId, clientId: r.client.clientId });
    if (!grant) await onIt.save();
    const signInGrants: SignInGrants = { forRequest: async () => onIt };
    const ctx = contextFor(r);
    const loaded = (await createLoadExistingGrant({ consents, signInGrants })(ctx)) as Grant;
    return { grant: loaded, stillMissing: missingFromGrant(ctx, loaded) };
  };
  const held = (grant: Grant) => ({
    oidcScopes: grant.getOIDCScopeEncountered().split(' ').filter(Boolean),
    oidcClaims: grant.getOIDCClaimsEncountered(),
    apiScopes: (grant.getResourceScopeEncountered(API) ?? '').split(' ').filter(Boolean),
  });

  it('finds what a request asks that the grant lacks: scopes, claims and API scopes, never the claims nobody is asked for', async () => {
    const client = await newClient();
    const grant = new engine.Grant({ accountId: accountId, clientId: client.clientId });
    addToGrant(grant, consent({ oidcScopes: ['openid'], resourceScopes: { [API]: ['read'] } }));
    const ctx = contextFor({
      client,
      scope: 'openid email read write unknown',
      claims: ['name', 'sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'],
      resource: true,
    });
    expect(missingFromGrant(ctx, grant)).toEqual({ oidcScopes: ['email'], oidcClaims: ['name'], resourceScopes: { [API]: ['write'] } });
  });

  it('fills a new grant with everything asked that was allowed before, and saves it (a new session, or after sign-out)', async () => {
    const client = await newClient();
    await consents.remember(accountId, client.clientId, consent({ oidcScopes: ['openid', 'email'], resourceScopes: { [API]: ['read'] } }));
    const { grant, stillMissing } = await load({ client, scope: 'openid email read', resource: true });
    expect(isEmptyConsent(stillMissing)).toBe(true); // no consent page
    expect(held((await engine.Grant.find(grant.jti))!)).toEqual({ oidcScopes: ['openid', 'email'], oidcClaims: [], apiScopes: ['read'] });
  });

  it('fills in only the remembered part of what is asked; the rest is left for the consent page', async () => {
    const client = await newClient();
    await consents.remember(accountId, client.clientId, consent({ oidcScopes: ['openid'], resourceScopes: { [API]: ['read'] } }));
    const { grant, stillMissing } = await load({ client, scope: 'openid email read write', resource: true });
    expect(held(grant)).toEqual({ oidcScopes: ['openid'], oidcClaims: [], apiScopes: ['read'] });
    expect(stillMissing).toEqual(consent({ oidcScopes: ['email'], resourceScopes: { [API]: ['write'] } }));
  });

  it('gives no more than the request asks, however much was allowed before', async () => {
    const client = await newClient();
    await consents.remember(
      accountId,
      client.clientId,
      consent({ oidcScopes: ['openid', 'email', 'profile'], oidcClaims: ['name'], resourceScopes: { [API]: ['read', 'write'] } }),
    );
    const { grant } = await load({ client, scope: 'openid read', resource: true });
    expect(held(grant)).toEqual({ oidcScopes: ['openid'], oidcClaims: [], apiScopes: ['read'] });
  });

  it('does not give an API scope remembered for one API to a request without that API', async () => {
    const client = await newClient();
    await consents.remember(accountId, client.clientId, consent({ oidcScopes: ['openid'], resourceScopes: { [OTHER_API]: ['read'] } }));
    const { grant, stillMissing } = await load({ client, scope: 'openid read', resource: true });
    expect(held(grant).apiScopes).toEqual([]);
    expect(stillMissing.resourceScopes).toEqual({ [API]: ['read'] });
  });

  it('leaves the grant as it is when nothing was allowed before: the consent page asks for all of it', async () => {
    const client = await newClient();
    const { grant, stillMissing } = await load({ client, scope: 'openid email read', resource: true });
    expect(held(grant)).toEqual({ oidcScopes: [], oidcClaims: [], apiScopes: [] });
    expect(stillMissing).toEqual(consent({ oidcScopes: ['openid', 'email'], resourceScopes: { [API]: ['read'] } }));
  });

  it('adds to the grant the session already holds, without looking anything up when nothing is missing', async () => {
    const client = await newClient();
    const session = new engine.Grant({ accountId: accountId, clientId: client.clientId });
    addToGrant(session, consent({ oidcScopes: ['openid', 'email'] }));
    await session.save();
    const before = lookups;
    const { grant } = await load({ client, scope: 'openid email' }, session);
    expect(grant.jti).toBe(session.jti);
    expect(lookups).toBe(before);
    await consents.remember(accountId, client.clientId, consent({ resourceScopes: { [API]: ['write'] } }));
    const grown = await load({ client, scope: 'openid email write', resource: true }, session);
    expect(held(grown.grant)).toEqual({ oidcScopes: ['openid', 'email'], oidcClaims: [], apiScopes: ['write'] });
  });

  it('gives a first-party client everything it asks without a consent, and looks nothing up', async () => {
    const client = await newClient({ first_party: true });
    const before = lookups;
    const { grant, stillMissing } = await load({ client, scope: 'openid email read write', claims: ['name'], resource: true });
    expect(isEmptyConsent(stillMissing)).toBe(true);
    expect(held(grant)).toEqual({ oidcScopes: ['openid', 'email'], oidcClaims: ['name'], apiScopes: ['read', 'write'] });
    expect(lookups).toBe(before);
  });

  it('takes the grant the user has just answered the consent page with, as it is', async () => {
    const client = await newClient();
    const answered = new engine.Grant({ accountId: accountId, clientId: client.clientId });
    addToGrant(answered, consent({ oidcScopes: ['openid'] }));
    const grantId = await answered.save();
    await consents.remember(accountId, client.clientId, consent({ oidcScopes: ['openid', 'email'] }));
    const { grant } = await load({ client, scope: 'openid email', decidedGrantId: grantId });
    expect(grant.jti).toBe(grantId);
    expect(held(grant).oidcScopes).toEqual(['openid']);
  });

  it('asks, across sessions, only for what was never allowed: consent, more asked, consent again, then nothing', async () => {
    const client = await newClient();
    const request = (scope: string) => ({ client, scope, resource: true });
    // Session 1: nothing remembered; the page is answered with what was missing (confirmHandler's two steps).
    const first = await load(request('openid read'));
    addToGrant(first.grant, first.stillMissing);
    await consents.remember(accountId, client.clientId, first.stillMissing);
    // Session 2 asks for more: only the new part is left to ask.
    const second = await load(request('openid email read write'));
    expect(second.stillMissing).toEqual(consent({ oidcScopes: ['email'], resourceScopes: { [API]: ['write'] } }));
    await consents.remember(accountId, client.clientId, second.stillMissing);
    // Session 3: everything is remembered; nothing to ask.
    const third = await load(request('openid email read write'));
    expect(isEmptyConsent(third.stillMissing)).toBe(true);
    expect(held(third.grant)).toEqual({ oidcScopes: ['openid', 'email'], oidcClaims: [], apiScopes: ['read', 'write'] });
  });
});
