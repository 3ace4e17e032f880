import type { Knex } from 'knex';

export type SigningKeyStatus = 'next' | 'active' | 'retired';
export type StoredSigningKey = {
  kid: string;
  alg: string;
  status: SigningKeyStatus;
  publicJwk: Record<string, unknown>;
  privateJwkEncrypted: string;
  createdAt: Date;
  activatesAt: Date | null;
  activatedAt: Date | null;
  retiredAt: Date | null;
};

type Row = {
  kid: string;
  alg: string;
  status: SigningKeyStatus;
  public_jwk: Record<string, unknown>;
  private_jwk_encrypted: string;
  created_at: Date;
  activates_at: Date | null;
  activated_at: Date | null;
  retired_at: Date | null;
};

const date = (d: Date | null) => (d ? new Date(d) : null);
const fromRow = (r: Row): StoredSigningKey => ({
  kid: r.kid,
  alg: r.alg,
  status: r.status,
  publicJwk: r.public_jwk,
  privateJwkEncrypted: r.private_jwk_encrypted,
  createdAt: new Date(r.created_at),
  activatesAt: date(r.activates_at),
  activatedAt: date(r.activated_at),
  retiredAt: date(r.retired_at),
});

// Any fixed 64-bit number, unique to "signing key changes" among our advisory locks.
const SIGNING_KEYS_LOCK = 0x6761_7465_0001;

export function createSigningKeyRepository(knex: Knex) {
  return {
    async list(db: Knex = knex): Promise<StoredSigningKey[]> {
      return (await db<Row>('signing_keys').orderBy('created_at')).map(fromRow);
    },
    /** kid:status of every key: cheap to poll, changes whenever the published set does. */
    async fingerprint(): Promise<string> {
      const rows = await knex<Row>('signing_keys').select('kid', 'status').orderBy('kid');
      return rows.map((r) => `${r.kid}:${r.status}`).join(',');
    },
    async insert(db: Knex, key: Omit<StoredSigningKey, 'createdAt' | 'retiredAt'>): Promise<void> {
      await db('signing_keys').insert({
        kid: key.kid,
        alg: key.alg,
        status: key.status,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk_encrypted: key.privateJwkEncrypted,
        activates_at: key.activatesAt,
        activated_at: key.activatedAt,
      });
    },
    /** Retires the active key of kid's algorithm and activates `kid`, in that order (one active key per algorithm). */
    async activate(db: Knex, kid: string): Promise<void> {
      await db('signing_keys')
        .where({ status: 'active' })
        .whereIn('alg', db('signing_keys').select('alg').where({ kid }))
        .update({ status: 'retired', retired_at: knex.fn.now() });
      await db('signing_keys').where({ kid }).update({ status: 'active', activated_at: knex.fn.now(), activates_at: null });
    },
    /** An active key stops signing (no API uses its algorithm any more); it stays published. */
    async retire(db: Knex, kid: string): Promise<void> {
      await db('signing_keys').where({ kid, status: 'active' }).update({ status: 'retired', retired_at: knex.fn.now() });
    },
    async delete(db: Knex, kid: string): Promise<boolean> {
      return (await db('signing_keys').where({ kid }).delete()) > 0;
    },
    /** Runs fn in a transaction holding the signing-key lock: one instance changes keys at a time. */
    async withLock<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
      return knex.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(?)', [SIGNING_KEYS_LOCK]);
        return fn(trx);
      });
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;
