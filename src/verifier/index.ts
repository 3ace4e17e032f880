/**
 * gatehouse/verifier: verify Gatehouse access tokens in any Node API. Standalone: it imports
 * nothing from the server, only jose (the server imports its access-token check instead).
 */
export { createVerifier } from './create-verifier.ts';
export { bearerToken, parseAuthorization } from './middleware.ts';
export { type ProtectedResourceMetadata, protectedResourceMetadata, resourceMetadataUrl } from './resource-metadata.ts';
export type {
  AccessTokenClaims,
  ExpressMiddleware,
  KoaMiddleware,
  MiddlewareOptions,
  Verifier,
  VerifierAlgorithm,
  VerifierLogger,
  VerifierOptions,
  VerifyRequest,
} from './types.ts';
export { requireRole, requireScope, VerificationError, type VerificationErrorCode, withResourceMetadata } from './verification-error.ts';
