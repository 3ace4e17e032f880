import type { Knex } from 'knex';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { alreadyConsumed } from './consume-error.ts';
import { isPlausibleId } from './input-guard.ts';
import { fromStored, hasLegacyEntries, storedId, toStored } from './stored-entry.ts';

type Row = { id?: string; payload: AdapterPayload; consumed_at: Date | null };

/** oidc-provider's storage seam on Postgres: one jsonb row per (model, id). No business rules. */
export function createPostgresAdapter(knex: Knex, model: string): Adapter {
  const table = () => knex('oidc_payloads');
  const live = (q: Knex.QueryBuilder) => q.where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()));

  // Entries live under a digest of their id (stored-entry.ts); a row written before digests is
  // under its raw id with that id as its jti. The migration converted those; this also finds the
  // ones an instance of the previous version writes during a rolling upgrade.
  const byId = (q: Knex.QueryBuilder, id: string) =>
    hasLegacyEntries(model)
      ? q.where((w) => w.where('id', storedId(model, id)).orWhere((legacy) => legacy.where('id', id).whereRaw("payload->>'jti' = ?", [id])))
      : q.where('id', id);

  const toPayload = (row: Row | undefined, id: string | undefined): AdapterPayload | undefined => {
    if (!row) return undefined;
    const found = fromStored(model, id, row.payload);
    if (!found) return undefined;
    const payload = { ...found };
    if (row.consumed_at) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
    return payload;
  };

  return {
    async upsert(id, payload, expiresIn) {
      // jsonb cannot hold U+0000 (22P05, a 500 server_error), and request parameters such as
      // state and nonce end up in payloads: refuse them as a bad request instead (notes §13).
      let hasNul = false;
      JSON.stringify(payload, (key, value: unknown) => {
        if (key.includes('\0') || (typeof value === 'string' && value.includes('\0'))) hasNul = true;
        return value;
      });
      if (hasNul) throw new errors.InvalidRequest('parameters must not contain NUL characters');
      const row = {
        model,
        id: storedId(model, id),
        payload: JSON.stringify(toStored(model, id, payload)),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        account_id: payload.accountId ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await table().insert(row).onConflict(['model', 'id']).merge(['payload', 'grant_id', 'uid', 'account_id', 'expires_at']);
    },

    async find(id) {
      if (!isPlausibleId(id)) return undefined;
      const rows: Row[] = await live(byId(table().select('id', 'payload', 'consumed_at').where({ model }), id));
      // The current row wins over a legacy twin (a legacy entry re-saved since).
      const row = rows.find((r) => r.id === storedId(model, id)) ?? rows[0];
      return toPayload(row, id);
    },

    async findByUid(uid) {
      if (!isPlausibleId(uid)) return undefined;
      const row: Row | undefined = await live(table().select('payload', 'consumed_at').where({ model, uid }))
        .orderByRaw("(payload->>'jti') is not null") // a current row before a legacy twin
        .first();
      // A legacy row brings its jti; a current one has none to give (stored-entry.ts).
      return toPayload(row, row?.payload.jti as string | undefined);
    },

    async findByUserCode(userCode) {
      if (!isPlausibleId(userCode)) return undefined;
      const row: Row | undefined = await live(
        table().select('payload', 'consumed_at').where({ model }).whereRaw("payload->>'userCode' = ?", [userCode]),
      ).first();
      // A DeviceCode keeps its jti (stored-entry.ts).
      return toPayload(row, row?.payload.jti as string | undefined);
    },

    async consume(id) {
      // Atomic: of N concurrent consumers exactly one sees an unconsumed row (notes §5).
      const updated = await live(byId(table().where({ model }), id).whereNull('consumed_at')).update({
        consumed_at: knex.fn.now(),
      });
      if (updated === 0) throw alreadyConsumed(model);
    },

    async destroy(id) {
      if (!isPlausibleId(id)) return;
      await byId(table().where({ model }), id).delete();
    },

    async revokeByGrantId(grantId) {
      await table().where({ model, grant_id: grantId }).delete();
    },
  };
}
