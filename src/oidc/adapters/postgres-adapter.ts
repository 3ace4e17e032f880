import type { Knex } from 'knex';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { alreadyConsumed } from './consume-error.ts';
import { isPlausibleId } from './input-guard.ts';

type Row = { payload: AdapterPayload; consumed_at: Date | null };

/** oidc-provider's storage seam on Postgres: one jsonb row per (model, id). No business rules. */
export function createPostgresAdapter(knex: Knex, model: string): Adapter {
  const table = () => knex('oidc_payloads');
  const live = (q: Knex.QueryBuilder) =>
    q.where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()));

  const toPayload = (row: Row | undefined): AdapterPayload | undefined => {
    if (!row) return undefined;
    const payload = { ...row.payload };
    if (row.consumed_at) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
    return payload;
  };

  return {
    async upsert(id, payload, expiresIn) {
      // jsonb cannot hold U+0000 (22P05, a 500 server_error), and request parameters such as
      // state and nonce end up in payloads: refuse them as a bad request instead (notes §13).
      let hasNul = false;
      const json = JSON.stringify(payload, (key, value: unknown) => {
        if (key.includes('\0') || (typeof value === 'string' && value.includes('\0'))) hasNul = true;
        return value;
      });
      if (hasNul) throw new errors.InvalidRequest('parameters must not contain NUL characters');
      const row = {
        model,
        id,
        payload: json,
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        account_id: payload.accountId ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await table().insert(row).onConflict(['model', 'id']).merge(['payload', 'grant_id', 'uid', 'account_id', 'expires_at']);
    },

    async find(id) {
      if (!isPlausibleId(id)) return undefined;
      const row = await live(table().select('payload', 'consumed_at').where({ model, id })).first();
      return toPayload(row);
    },

    async findByUid(uid) {
      if (!isPlausibleId(uid)) return undefined;
      const row = await live(table().select('payload', 'consumed_at').where({ model, uid })).first();
      return toPayload(row);
    },

    async findByUserCode(userCode) {
      if (!isPlausibleId(userCode)) return undefined;
      const row = await live(
        table().select('payload', 'consumed_at').where({ model }).whereRaw("payload->>'userCode' = ?", [userCode]),
      ).first();
      return toPayload(row);
    },

    async consume(id) {
      // Atomic: of N concurrent consumers exactly one sees an unconsumed row (notes §5).
      const updated = await live(table().where({ model, id }).whereNull('consumed_at')).update({
        consumed_at: knex.fn.now(),
      });
      if (updated === 0) throw alreadyConsumed(model);
    },

    async destroy(id) {
      await table().where({ model, id }).delete();
    },

    async revokeByGrantId(grantId) {
      await table().where({ model, grant_id: grantId }).delete();
    },
  };
}
