import type { Logger } from 'pino';
import { grantDigest, type RevocationList } from './revocation-list.ts';

/**
 * A destroyed grant (refresh-token reuse, a revoked refresh token, sign-out) takes its
 * already-issued JWT access tokens with it: they carry the grant's digest as `gid`. Called from
 * the Grant adapter's destroy, so the revocation is in force before the response goes out; if it
 * cannot be recorded the grant is still destroyed (its refresh tokens are the bigger prize) and
 * the failure is logged.
 */
export function grantRevocationRecorder(deps: { revocations: RevocationList; maxTokenTtlSeconds: () => Promise<number>; logger: Logger }) {
  return async (grantId: string): Promise<void> => {
    try {
      const exp = Math.floor(Date.now() / 1000) + (await deps.maxTokenTtlSeconds());
      await deps.revocations.record({ type: 'grant', gid: grantDigest(grantId), exp });
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'recording a grant revocation failed');
    }
  };
}
