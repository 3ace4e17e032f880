import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sweepExpired } from '../src/sweeper/sweep-expired.ts';
import { testDatabaseUrl } from './support/test-env.ts';
import { createTestDatabase } from './support/test-storage.ts';

const past = () => new Date(Date.now() - 60_000);
const future = () => new Date(Date.now() + 3_600_000);

describe('expired-row sweeper', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;

  beforeAll(async () => {
    db = await createTestDatabase();
    knex = db.knex;
  });
  afterAll(() => db?.drop());
  beforeEach(async () => {
    await knex('oidc_payloads').delete();
    await knex('short_lived_entries').delete();
    await knex('revocations').delete();
    await knex('refresh_token_rotations').delete();
  });

  const payload = (id: string, expiresAt: Date | null, model = 'RefreshToken') => ({
    model,
    id,
    payload: JSON.stringify({ id }),
    expires_at: expiresAt,
  });

  it('deletes expired rows and nothing else', async () => {
    await knex('oidc_payloads').insert([
      payload('old-1', past()),
      payload('old-2', past(), 'Grant'),
      payload('live', future()),
      payload('forever', null, 'Grant'),
    ]);
    await knex('short_lived_entries').insert([
      { key: 'old', value: 'x', expires_at: past() },
      { key: 'live', value: 'y', expires_at: future() },
    ]);
    const revocation = (subject: string, expiresAt: Date) => ({ kind: 'token', subject, event: '{}', expires_at: expiresAt });
    await knex('revocations').insert([revocation('old', past()), revocation('live', future())]);
    const grant = (digest: string, expiresAt: Date) => ({ digest: Buffer.from(digest.padEnd(32, '.')), apis: '[]', api_scopes: '[]', expires_at: expiresAt });
    await knex('registration_tokens').insert([grant('old', past()), grant('live', future())]);
    const result = await sweepExpired(knex, { batchSize: 100, maxBatches: 10 });
    expect(result).toEqual({
      ran: true,
      deleted: {
        oidc_payloads: 2,
        short_lived_entries: 1,
        revocations: 1,
        refresh_token_rotations: 0,
        refresh_token_answers: 0,
        one_time_tokens: 0,
        registration_tokens: 1,
      },
    });
    expect(Number((await knex('registration_tokens').count({ n: '*' }).first())!.n)).toBe(1);
    expect(await knex('revocations').pluck('subject')).toEqual(['live']);
    expect((await knex('oidc_payloads').pluck('id')).sort()).toEqual(['forever', 'live']);
    expect(await knex('short_lived_entries').pluck('key')).toEqual(['live']);
  });

  it('deletes audit events older than the retention and keeps the rest', async () => {
    await knex('audit_events').delete();
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);
    await knex('audit_events').insert([
      { type: 'old', occurred_at: daysAgo(31) },
      { type: 'recent', occurred_at: daysAgo(29) },
    ]);
    const result = await sweepExpired(knex, { batchSize: 100, maxBatches: 10, auditRetentionDays: 30 });
    expect(result.deleted.audit_events).toBe(1);
    expect(await knex('audit_events').pluck('type')).toEqual(['recent']);
  });

  it("clears a refresh rotation's saved answer after its window and drops its tombstone at the spent token's expiry", async () => {
    const rotation = (digest: string, answerExpiresAt: Date, expiresAt: Date) => ({
      token_digest: digest,
      successor_digest: `${digest}-next`,
      grant_id: 'grant',
      client_id: 'client',
      account_id: 'account',
      issued_at: past(),
      answer: 'v1.sealed',
      answer_expires_at: answerExpiresAt,
      expires_at: expiresAt,
    });
    await knex('refresh_token_rotations').insert([
      rotation('in-window', future(), future()),
      rotation('window-closed', past(), future()),
      rotation('token-expired', past(), past()),
    ]);
    // One sweeper at a time across the server: another test file's may hold the lock for a moment.
    let result: Awaited<ReturnType<typeof sweepExpired>> | undefined;
    await vi.waitFor(async () => {
      result = await sweepExpired(knex, { batchSize: 100, maxBatches: 10 });
      expect(result.ran).toBe(true);
    });
    expect(result!.deleted).toMatchObject({ refresh_token_rotations: 1, refresh_token_answers: 1 });
    const rows = await knex('refresh_token_rotations').select('token_digest', 'answer').orderBy('token_digest');
    expect(rows).toEqual([
      { token_digest: 'in-window', answer: 'v1.sealed' },
      { token_digest: 'window-closed', answer: null },
    ]);
  });

  it('works in bounded batches, leaving the rest for the next pass', async () => {
    await knex('oidc_payloads').insert(Array.from({ length: 7 }, (_, i) => payload(`old-${i}`, past())));
    const first = await sweepExpired(knex, { batchSize: 2, maxBatches: 2 });
    expect(first.deleted.oidc_payloads).toBe(4);
    expect(await knex('oidc_payloads').count({ n: '*' }).first()).toMatchObject({ n: 3 });
    const second = await sweepExpired(knex, { batchSize: 2, maxBatches: 10 });
    expect(second.deleted.oidc_payloads).toBe(3);
  });

  it.runIf(testDatabaseUrl)('stands aside while another instance is sweeping', async () => {
    await knex('oidc_payloads').insert(payload('old', past()));
    const trx = await knex.transaction();
    try {
      await trx.raw('select pg_advisory_xact_lock(?)', [0x6761_7465_0002]);
      expect(await sweepExpired(knex, { batchSize: 10, maxBatches: 1 })).toEqual({ ran: false, deleted: {} });
    } finally {
      await trx.rollback();
    }
    expect((await sweepExpired(knex, { batchSize: 10, maxBatches: 1 })).deleted.oidc_payloads).toBe(1);
  });
});
