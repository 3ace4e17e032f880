import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { openJson, sealJson } from './key-encryption.ts';
import type { SigningKeyRepository, SigningKeyStatus, StoredSigningKey } from './signing-key-repository.ts';

export type SigningKeySummary = Omit<StoredSigningKey, 'privateJwkEncrypted' | 'publicJwk'>;

const ALG = 'RS256';

/**
 * Signing keys in Postgres, private parts sealed with a key derived from GATEHOUSE_SECRET.
 * Shaped for rotation (next → active → retired); this module only guarantees an active key.
 */
export function createSigningKeyStore(deps: { repository: SigningKeyRepository; encryptionKey: Buffer }) {
  const generate = async (status: SigningKeyStatus) => {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
    const kid = randomUUID();
    const privateJwk = await exportJWK(privateKey);
    return {
      kid,
      alg: ALG,
      status,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
      privateJwkEncrypted: sealJson(privateJwk, deps.encryptionKey, kid),
      activatedAt: status === 'active' ? new Date() : null,
    };
  };

  return {
    /** First start: create the first key. Safe when many instances start at once (advisory lock). */
    async ensureActiveKey(): Promise<void> {
      await deps.repository.withLock(async (trx) => {
        const keys = await deps.repository.list(trx);
        if (!keys.some((k) => k.status === 'active')) await deps.repository.insert(trx, await generate('active'));
      });
    },

    /**
     * Private JWKs for oidc-provider, the active key first. Keys that must not sign are marked
     * key_ops ['verify'], which oidc-provider's key selection skips (notes §11).
     */
    async loadProviderKeys(): Promise<JWK[]> {
      const keys = await deps.repository.list();
      const rank = { active: 0, next: 1, retired: 2 } as const;
      return keys
        .sort((a, b) => rank[a.status] - rank[b.status])
        .map((k) => ({
          ...openJson<JWK>(k.privateJwkEncrypted, deps.encryptionKey, k.kid),
          kid: k.kid,
          alg: k.alg,
          use: 'sig',
          ...(k.status === 'active' ? {} : { key_ops: ['verify'] }),
        }));
    },

    async listKeys(): Promise<SigningKeySummary[]> {
      return (await deps.repository.list()).map(({ privateJwkEncrypted: _p, publicJwk: _j, ...summary }) => summary);
    },
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
