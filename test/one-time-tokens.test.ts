import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../src/accounts/account-repository.ts';
import { createOneTimeTokenStore, ONE_TIME_TOKEN_TTL_SECONDS } from '../src/one-time-tokens/one-time-token-store.ts';
import { sweepExpired } from '../src/sweeper/sweep-expired.ts';
import { until } from './support/own-services.ts';
import { uniqueName } from './support/test-env.ts';
import { createTestDatabase } from './support/test-storage.ts';

describe('single-use link tokens', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let store: ReturnType<typeof createOneTimeTokenStore>;
  const newAccount = async () => (await createAccountRepository(knex).insert({ email: `${uniqueName('u')}@example.com`, name: null, passwordHash: null }))!.id;

  beforeAll(async () => {
    db = await createTestDatabase();
    knex = db.knex;
    store = createOneTimeTokenStore(knex);
  });
  afterAll(() => db?.drop());

  it('gives a 256-bit token whose record can be used exactly once', async () => {
    const accountId = await newAccount();
    const token = await store.create('verify_email', accountId, 3600, { email: 'ada@example.com' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 43 base64url characters = 256 bits
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);

    expect(await store.find('verify_email', token)).toMatchObject({ accountId }); // looking does not use it up
    const used = await store.consume('verify_email', token);
    expect(used).toMatchObject({ purpose: 'verify_email', accountId, extra: { email: 'ada@example.com' } });
    expect(used!.expiresAt.getTime() - used!.createdAt.getTime()).toBe(3600_000);
    expect(await store.consume('verify_email', token)).toBeUndefined();
    expect(await store.find('verify_email', token)).toBeUndefined();
  });

  it('stores only the SHA-256 digest of the token, never the token', async () => {
    const accountId = await newAccount();
    const token = await store.create('reset_password', accountId, 600);
    const rows = await knex.raw<{ rows: { digest: Buffer; whole: string }[] }>('select digest, t::text as whole from one_time_tokens t where account_id = ?', [
      accountId,
    ]);
    expect(rows.rows).toHaveLength(1);
    expect(Buffer.from(rows.rows[0]!.digest).equals(createHash('sha256').update(token).digest())).toBe(true);
    // The whole row as text (every column) holds no form of the token.
    const whole = rows.rows[0]!.whole;
    for (const form of [token, Buffer.from(token, 'base64url').toString('hex'), Buffer.from(token, 'base64url').toString('base64')]) {
      expect(whole).not.toContain(form);
    }
  });

  it('lets exactly one of many concurrent consumers win', async () => {
    const accountId = await newAccount();
    const token = await store.create('reset_password', accountId, 600);
    // Separate stores (the same pool of connections: on Postgres, really concurrent statements).
    const results = await Promise.all(Array.from({ length: 20 }, () => createOneTimeTokenStore(knex).consume('reset_password', token)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(results.find(Boolean)).toMatchObject({ accountId });
  });

  it('refuses an expired token, and the sweeper removes it', async () => {
    const accountId = await newAccount();
    // Made an hour ago with a 60 s lifetime: expired 59 minutes ago.
    const past = createOneTimeTokenStore(knex, { now: () => new Date(Date.now() - 3600_000) });
    const token = await past.create('reset_password', accountId, 60);
    expect(await store.find('reset_password', token)).toBeUndefined();
    expect(await store.consume('reset_password', token)).toBeUndefined();

    // A clock that moves past the expiry refuses a token that was live a moment before.
    let clock = Date.now();
    const moving = createOneTimeTokenStore(knex, { now: () => new Date(clock) });
    const live = await moving.create('verify_email', accountId, 60);
    clock += 61_000;
    expect(await moving.consume('verify_email', live)).toBeUndefined();

    // The sweeper's lock is one for the whole server: another test file may hold it for a moment.
    let sweep = { ran: false, deleted: {} as Record<string, number> };
    await until('a sweep', async () => (sweep = await sweepExpired(knex, { batchSize: 100, maxBatches: 10 })).ran);
    expect(sweep.deleted.one_time_tokens).toBeGreaterThanOrEqual(1);
    expect(await knex('one_time_tokens').where({ account_id: accountId, purpose: 'reset_password' }).pluck('purpose')).toEqual([]);
  });

  it('never accepts a token for another purpose (and the mismatch does not use it up)', async () => {
    const accountId = await newAccount();
    const token = await store.create('reset_password', accountId, 600);
    expect(await store.consume('verify_email', token)).toBeUndefined();
    expect(await store.consume('reset_password', token)).toMatchObject({ accountId });
  });

  it('answers undefined, without an error, for malformed tokens', async () => {
    for (const bad of ['', 'x', 'a'.repeat(42), 'a'.repeat(44), `${'a'.repeat(42)}=`, 'é'.repeat(43), 'a'.repeat(100_000)]) {
      expect(await store.consume('verify_email', bad)).toBeUndefined();
      expect(await store.find('verify_email', bad)).toBeUndefined();
    }
    expect(await store.invalidate('verify_email', 'not-a-uuid')).toBe(0);
  });

  it('a new link voids older ones of its purpose; invalidate voids every one of a purpose and no other', async () => {
    const accountId = await newAccount();
    const first = await store.replace('reset_password', accountId, 600);
    const second = await store.replace('reset_password', accountId, 600);
    const verification = await store.create('verify_email', accountId, 600);
    expect(await store.find('reset_password', first)).toBeUndefined();
    expect(await store.find('reset_password', second)).toBeDefined();

    // A password change: every reset link goes, the verification link stays.
    expect(await store.invalidate('reset_password', accountId)).toBe(1);
    expect(await store.consume('reset_password', second)).toBeUndefined();
    expect(await store.consume('verify_email', verification)).toMatchObject({ accountId });
  });

  it('leaves exactly one live link when new links are requested at the same time', async () => {
    const accountId = await newAccount();
    const tokens = await Promise.all(Array.from({ length: 8 }, () => store.replace('reset_password', accountId, 600)));
    const live = await Promise.all(tokens.map((t) => store.find('reset_password', t)));
    expect(live.filter(Boolean)).toHaveLength(1);
  });

  it('keeps the lifetimes the accounts flows rely on', () => {
    expect(ONE_TIME_TOKEN_TTL_SECONDS).toEqual({ verify_email: 86_400, reset_password: 1800, change_email: 86_400 });
  });
});
