import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { type RefreshRotationRepository, type RotationRecord, refreshTokenDigest } from '../refresh-rotation-repository.ts';
import { type RotationUnit, rotationUnits } from '../rotation-unit.ts';
import { isPlausibleId } from './input-guard.ts';

/** Stops oidc-provider's grant handler once it has checked a replay; the middleware answers it. */
export class ReplayAnswered extends errors.InvalidGrant {
  constructor() {
    super('answered from the refresh grace window');
  }
}

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/** What oidc-provider needs to check a spent token whose own row is gone: the tombstone as a payload. */
function fromTombstone(record: RotationRecord, presented: string, consumed: number | undefined): AdapterPayload {
  return {
    kind: 'RefreshToken',
    jti: presented,
    iat: epoch(record.issuedAt),
    exp: epoch(record.expiresAt),
    clientId: record.clientId,
    accountId: record.accountId,
    grantId: record.grantId,
    ...(record.scope ? { scope: record.scope } : {}),
    ...(record.jkt ? { jkt: record.jkt } : {}),
    ...(consumed ? { consumed } : {}),
  };
}

/**
 * The RefreshToken model's storage, wrapped for the refresh grace window (refresh-grace.ts).
 * A rotation deletes the spent token's row and leaves a tombstone (refresh_token_rotations): so
 * oidc-provider keeps one row per chain, and a spent token is found from its tombstone. For the
 * presented token of a refresh request:
 * - live and unconsumed: found as is; oidc-provider's consume and its successor's save are held
 *   back, and the middleware writes them, with the answer, in one transaction once the response
 *   is built;
 * - spent inside its window, its successor not yet redeemed: found unconsumed, so the library runs
 *   every check it runs on a live token (client, DPoP binding, grant, account); its consume then
 *   stops it, and the middleware answers with the saved response;
 * - spent otherwise (the ancestor of a redeemed token, or its window closed): found consumed, so
 *   the library's reuse detection revokes the grant (RFC 9700 §4.14.2).
 * Anything else (other tokens, introspection, revocation) goes to `inner`, a spent token found
 * from its tombstone, consumed.
 */
export function createRefreshTokenAdapter(inner: Adapter, rotations: RefreshRotationRepository): Adapter {
  const unitFor = (id: string): RotationUnit | undefined => {
    const unit = rotationUnits.getStore();
    return unit?.presented === id ? unit : undefined;
  };

  return {
    async find(id) {
      const payload = await inner.find(id);
      const unit = unitFor(id);
      if (payload) {
        if (unit && !payload.consumed) unit.found = { ...payload }; // as stored, whatever the library does with what it is given
        return payload; // (a consumed row is one spent before tombstones: the library's rules)
      }
      if (!isPlausibleId(id)) return undefined;
      const record = await rotations.find(unit?.digest ?? refreshTokenDigest(id));
      if (!record) return undefined;
      if (unit && record.liveAnswer && !record.isSuccessorRedeemed) {
        unit.replay = record;
        return fromTombstone(record, id, undefined);
      }
      return fromTombstone(record, id, epoch(record.rotatedAt));
    },

    async consume(id) {
      const unit = unitFor(id);
      if (unit?.replay) {
        unit.isReplayApproved = true;
        throw new ReplayAnswered();
      }
      if (!unit?.found) return inner.consume(id);
      unit.isConsumeDeferred = true;
    },

    async upsert(id, payload, expiresIn) {
      const unit = rotationUnits.getStore();
      // The successor oidc-provider saves right after the consume it thinks happened.
      if (unit?.isConsumeDeferred && !unit.successor && id !== unit.presented) {
        unit.successor = { id, payload, expiresIn };
        return;
      }
      await inner.upsert(id, payload, expiresIn);
    },

    findByUid: (uid) => inner.findByUid(uid),
    findByUserCode: (userCode) => inner.findByUserCode(userCode),
    destroy: (id) => inner.destroy(id),

    async revokeByGrantId(grantId) {
      // A revoked grant's tombstones have nothing left to protect.
      await Promise.all([inner.revokeByGrantId(grantId), rotations.deleteByGrant(grantId)]);
    },
  };
}
