import type { Knex } from 'knex';
import { type RevocationEvent, type RevocationList, subjectAudienceKey } from './revocation-list.ts';

type Row = { id: number; event: RevocationEvent };

/**
 * Revocation state in Postgres, for deployments without Redis; expired rows are swept.
 *
 * The feed pages by a serial id, but ids are taken at insert and become visible at commit: with
 * concurrent writers a smaller id can appear after a reader's cursor has passed it. So the feed
 * serves only rows recorded at least `commitLagSeconds` ago (inserts here are single statements
 * that commit at once). Embedded PGlite has one connection, so nothing can overtake: lag 0.
 */
export function createPostgresRevocationList(knex: Knex, options: { commitLagSeconds: number }): RevocationList {
  return {
    async record(event) {
      await knex('revocations').insert({
        kind: event.type,
        subject: subjectOf(event),
        iat_before: event.type === 'subject' || event.type === 'subject_audience' ? event.iat_before : null,
        event: JSON.stringify(event),
        expires_at: new Date(event.exp * 1000),
      });
    },

    async isRevoked(t) {
      const live = knex('revocations').where('expires_at', '>', knex.fn.now());
      const row = await live
        .where((w) => {
          if (t.jti) w.orWhere({ kind: 'token', subject: t.jti });
          if (t.gid) w.orWhere({ kind: 'grant', subject: t.gid });
          if (t.clientId) w.orWhere({ kind: 'client', subject: t.clientId });
          if (t.sub && t.iat !== undefined) w.orWhere((s) => s.where({ kind: 'subject', subject: t.sub }).where('iat_before', '>=', t.iat!));
          if (t.sub && t.iat !== undefined && t.aud?.length) {
            const keys = t.aud.map((a) => subjectAudienceKey(t.sub!, a));
            w.orWhere((s) => s.where({ kind: 'subject_audience' }).whereIn('subject', keys).where('iat_before', '>=', t.iat!));
          }
          w.orWhereRaw('false');
        })
        .first('id');
      return Boolean(row);
    },

    async feed(cursor, limit) {
      const after = cursor && /^\d+$/.test(cursor) ? Number(cursor) : 0;
      const rows = await knex<Row>('revocations')
        .select('id', 'event')
        .where('id', '>', after)
        .where('expires_at', '>', knex.fn.now())
        .whereRaw('recorded_at <= now() - make_interval(secs => ?)', [options.commitLagSeconds])
        .orderBy('id')
        .limit(limit);
      return {
        events: rows.map((r) => ({ ...r.event, cursor: String(r.id) })),
        cursor: String(rows.at(-1)?.id ?? after),
      };
    },
  };
}

/** What an event is looked up by: (kind, subject) is the lookup index. */
function subjectOf(event: RevocationEvent): string {
  switch (event.type) {
    case 'token':
      return event.jti;
    case 'grant':
      return event.gid;
    case 'subject':
      return event.sub;
    case 'client':
      return event.client_id;
    case 'subject_audience':
      return subjectAudienceKey(event.sub, event.aud);
  }
}
