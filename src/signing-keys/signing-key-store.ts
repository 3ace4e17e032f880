import { generateKeyPair as generateNodeKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import type { AuditEvent, AuditLog } from '../audit/audit-log.ts';
import { openJson, sealJson } from '../crypto/seal-json.ts';
import type { ChangeNotices } from '../db/change-notices.ts';
import { AppError } from '../errors/app-error.ts';
import { announceSeconds, type KeyPolicy, planAlgorithmSteps } from './key-lifecycle.ts';
import { createLocalSigner } from './local-signer.ts';
import { DEFAULT_SIGNING_ALG, type Signer, type SigningAlg } from './signer.ts';
import type { SigningKeyRepository, SigningKeyStatus, StoredSigningKey } from './signing-key-repository.ts';

export type SigningKeySummary = Omit<StoredSigningKey, 'privateJwkEncrypted' | 'publicJwk'>;

const generateKeyPair = promisify(generateNodeKeyPair) as (type: string, options: object) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;
/** RS256: RSA-2048 (RFC 7518 §3.3); ES256: P-256 (§3.4); EdDSA: Ed25519 (RFC 8037). */
const KEY_PAIRS: Record<SigningAlg, [string, object]> = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
};
const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' }) as JWK;

/**
 * Signing keys in Postgres, private parts sealed with a key derived from GATEHOUSE_SECRET.
 * Lifecycle: next (published, not signing) → active (signing) → retired (published until what
 * it signed has expired) → removed. Every change happens under one advisory lock.
 */
export function createSigningKeyStore(deps: {
  repository: SigningKeyRepository;
  encryptionKey: Buffer;
  /** Read at each step: the longest token lifetime depends on the APIs registered. */
  policy: () => Promise<KeyPolicy>;
  /** The algorithms that need a signing key: RS256, and those APIs chose (resource-service.ts). */
  algorithms?: () => Promise<SigningAlg[]>;
  now?: () => Date;
  /** Every key change goes to the audit trail, after its transaction committed. */
  audit?: Pick<AuditLog, 'record'>;
  /** Every instance is told of a change to the published keys, and rebuilds its Provider. */
  notices?: Pick<ChangeNotices, 'publish'>;
}) {
  const now = deps.now ?? (() => new Date());
  const audited = async <T>(events: AuditEvent[], result: T): Promise<T> => {
    if (events.length) await deps.notices?.publish({ topic: 'signing-keys', id: '*' });
    for (const event of events) await deps.audit?.record(event);
    return result;
  };
  const algorithms = deps.algorithms ?? (async () => [DEFAULT_SIGNING_ALG]);
  const generate = async (status: SigningKeyStatus, activatesAt: Date | null = null, alg: SigningAlg = DEFAULT_SIGNING_ALG) => {
    const [type, options] = KEY_PAIRS[alg];
    const { privateKey, publicKey } = await generateKeyPair(type, options);
    const kid = randomUUID();
    return {
      kid,
      alg,
      status,
      publicJwk: { ...jwkOf(publicKey), kid, alg, use: 'sig' },
      privateJwkEncrypted: sealJson(jwkOf(privateKey), deps.encryptionKey, kid),
      activatesAt,
      activatedAt: status === 'active' ? now() : null,
    };
  };
  // A key is opened (unsealed, imported) once per process, not on every Provider build.
  const signers = new Map<string, Signer>();
  const signerOf = (k: StoredSigningKey): Signer => {
    let signer = signers.get(k.kid);
    if (!signer) {
      signer = createLocalSigner({ kid: k.kid, alg: k.alg as SigningAlg, privateJwk: openJson<JWK>(k.privateJwkEncrypted, deps.encryptionKey, k.kid) });
      signers.set(k.kid, signer);
    }
    return signer;
  };
  // The engine's order: active keys first, RS256 before the others (the first RS256 key signs what
  // names no key: ID tokens); within a status, oldest first.
  const rank = { active: 0, next: 1, retired: 2 } as const;
  const engineOrder = (a: StoredSigningKey, b: StoredSigningKey) =>
    rank[a.status] - rank[b.status] || Number(b.alg === DEFAULT_SIGNING_ALG) - Number(a.alg === DEFAULT_SIGNING_ALG);
  const summary = ({ privateJwkEncrypted: _p, publicJwk: _j, ...rest }: StoredSigningKey): SigningKeySummary => rest;

  return {
    /** First start: create the first key. Safe when many instances start at once. */
    async ensureActiveKey(): Promise<void> {
      await deps.repository.withLock(async (trx) => {
        const keys = await deps.repository.list(trx);
        if (!keys.some((k) => k.status === 'active' && k.alg === DEFAULT_SIGNING_ALG)) await deps.repository.insert(trx, await generate('active'));
      });
    },

    /** One scheduled pass (any instance may call it; the lock serialises them). True if keys changed. */
    async runScheduledSteps(): Promise<boolean> {
      const policy = await deps.policy();
      const inUse = new Set<string>(await algorithms());
      const events: AuditEvent[] = [];
      const changed = await deps.repository.withLock(async (trx) => {
        const keys = await deps.repository.list(trx);
        let changes = 0;
        // Each algorithm has its own lifecycle: one active key each, rotated on the same schedule.
        for (const alg of new Set<string>([...inUse, ...keys.map((k) => k.alg)])) {
          const steps = planAlgorithmSteps(
            keys.filter((k) => k.alg === alg),
            now(),
            policy,
            inUse.has(alg),
          );
          changes += steps.length;
          for (const step of steps) {
            if (step.kind === 'create-next') {
              const key = await generate('next', step.activatesAt, alg as SigningAlg);
              await deps.repository.insert(trx, key);
              events.push({ type: 'signing_key.announced', details: { kid: key.kid, alg, activates_at: step.activatesAt.toISOString(), by: 'schedule' } });
            } else if (step.kind === 'activate') {
              await deps.repository.activate(trx, step.kid);
              events.push({ type: 'signing_key.activated', details: { kid: step.kid, alg, by: 'schedule' } });
            } else if (step.kind === 'retire') {
              await deps.repository.retire(trx, step.kid);
              events.push({ type: 'signing_key.retired', details: { kid: step.kid, alg, by: 'schedule' } });
            } else {
              await deps.repository.delete(trx, step.kid);
              events.push({ type: 'signing_key.removed', details: { kid: step.kid, alg, by: 'schedule' } });
            }
          }
        }
        return changes > 0;
      });
      return audited(events, changed);
    },

    /** `keys rotate [--alg A]`: announce a new key now; it starts signing once every cache has it. */
    async rotate(alg: SigningAlg = DEFAULT_SIGNING_ALG): Promise<SigningKeySummary> {
      const policy = await deps.policy();
      const events: AuditEvent[] = [];
      const announced = await deps.repository.withLock(async (trx) => {
        const pending = (await deps.repository.list(trx)).find((k) => k.status === 'next' && k.alg === alg);
        if (pending) return summary(pending);
        const key = await generate('next', new Date(now().getTime() + announceSeconds(policy) * 1000), alg);
        await deps.repository.insert(trx, key);
        events.push({ type: 'signing_key.announced', details: { kid: key.kid, alg, activates_at: key.activatesAt!.toISOString(), by: 'rotate' } });
        return summary({ ...key, createdAt: now(), retiredAt: null });
      });
      return audited(events, announced);
    },

    /**
     * `keys revoke KID` for a compromised key: unpublished at once. If it was signing, the
     * announced `next` key of its algorithm (already in caches) signs from now on, else a fresh
     * key of that algorithm does.
     */
    async revoke(kid: string): Promise<{ revoked: SigningKeySummary; nowSigning: string }> {
      const outcome = await deps.repository.withLock(async (trx) => {
        const keys = await deps.repository.list(trx);
        const target = keys.find((k) => k.kid === kid);
        if (!target) throw new AppError('not_found', `no signing key ${kid}`, 404);
        await deps.repository.delete(trx, kid);
        const sameAlg = keys.filter((k) => k.alg === target.alg);
        let signing = sameAlg.find((k) => k.status === 'active' && k.kid !== kid)?.kid;
        if (target.status === 'active') {
          const next = sameAlg.find((k) => k.status === 'next');
          if (next) {
            await deps.repository.activate(trx, next.kid);
            signing = next.kid;
          } else {
            const fresh = await generate('active', null, target.alg as SigningAlg);
            await deps.repository.insert(trx, fresh);
            signing = fresh.kid;
          }
        }
        // An algorithm without its active key (only a `next` one was revoked) signs with none: nothing is left to name.
        return { revoked: summary(target), nowSigning: signing ?? keys.find((k) => k.status === 'active' && k.kid !== kid)?.kid ?? '' };
      });
      const event = { type: 'signing_key.revoked', details: { kid, was: outcome.revoked.status, now_signing: outcome.nowSigning } };
      return audited([event], outcome);
    },

    /**
     * Private JWKs for oidc-provider, the active key first. Keys that must not sign are marked
     * key_ops ['verify'], which oidc-provider's key selection skips (notes §11).
     */
    async loadProviderKeys(): Promise<JWK[]> {
      const keys = await deps.repository.list();
      return keys.sort(engineOrder).map((k) => ({
        ...openJson<JWK>(k.privateJwkEncrypted, deps.encryptionKey, k.kid),
        kid: k.kid,
        alg: k.alg,
        use: 'sig',
        ...(k.status === 'active' ? {} : { key_ops: ['verify'] }),
      }));
    },

    /**
     * Every published key as a signer, the active key first; only the active key may sign. What
     * the engine is built with (its ExternalSigningKey seam), whoever holds the private key.
     */
    async loadSigners(): Promise<{ signer: Signer; canSign: boolean }[]> {
      const keys = (await deps.repository.list()).sort(engineOrder);
      const published = new Set(keys.map((k) => k.kid));
      for (const kid of signers.keys()) if (!published.has(kid)) signers.delete(kid); // removed or revoked
      return keys.map((k) => ({ signer: signerOf(k), canSign: k.status === 'active' }));
    },

    async listKeys(): Promise<SigningKeySummary[]> {
      return (await deps.repository.list()).map(summary);
    },

    /** How long the signing key has signed (a gauge: above the rotation interval, the schedule is not running). */
    async activeKeyAgeSeconds(): Promise<number | undefined> {
      const active = (await deps.repository.list()).find((k) => k.status === 'active' && k.alg === DEFAULT_SIGNING_ALG);
      const since = active?.activatedAt ?? active?.createdAt;
      return since ? (now().getTime() - since.getTime()) / 1000 : undefined;
    },

    fingerprint: () => deps.repository.fingerprint(),
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
