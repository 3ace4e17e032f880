import { AsyncLocalStorage } from 'node:async_hooks';
import type { AdapterPayload } from 'oidc-provider';
import type { RotationRecord } from './refresh-rotation-repository.ts';

/**
 * One refresh_token request at the token endpoint, shared between the refresh-grace middleware
 * (which starts it and commits it) and the RefreshToken adapter (which oidc-provider's grant
 * handler calls in between). Only the presented token's own calls are intercepted.
 */
export type RotationUnit = {
  /** The presented refresh token (memory only) and its digest. */
  presented: string;
  digest: string;
  /** Found live and unconsumed: this request may rotate it. */
  found?: AdapterPayload;
  /** oidc-provider consumed it: the consume and the successor's save wait for the commit. */
  isConsumeDeferred?: boolean;
  successor?: { id: string; payload: AdapterPayload; expiresIn: number | undefined };
  /** A retry inside the grace window: answered from this rotation once the library's checks pass. */
  replay?: RotationRecord;
  /** The library's checks passed for the replay (it went on to rotate the token). */
  isReplayApproved?: boolean;
};

export const rotationUnits = new AsyncLocalStorage<RotationUnit>();
