/**
 * gatehouse/verifier: verify Gatehouse access tokens in any Node API. Standalone: it imports
 * nothing from the server, only jose.
 */
export { createVerifier } from './create-verifier.ts';
export { VerificationError, requireScope, type VerificationErrorCode } from './verification-error.ts';
export { bearerToken } from './middleware.ts';
export type {
  AccessTokenClaims,
  ExpressMiddleware,
  KoaMiddleware,
  MiddlewareOptions,
  Verifier,
  VerifierAlgorithm,
  VerifierLogger,
  VerifierOptions,
} from './types.ts';
