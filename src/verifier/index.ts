/**
 * gatehouse/verifier: verify Gatehouse access tokens in any Node API. Standalone: it imports
 * nothing from the server, only jose (the server imports its access-token check instead).
 */
export { createVerifier } from './create-verifier.ts';
export { VerificationError, requireRole, requireScope, withResourceMetadata, type VerificationErrorCode } from './verification-error.ts';
export { protectedResourceMetadata, resourceMetadataUrl, type ProtectedResourceMetadata } from './resource-metadata.ts';
export { bearerToken, parseAuthorization } from './middleware.ts';
export type {
  AccessTokenClaims,
  VerifyRequest,
  ExpressMiddleware,
  KoaMiddleware,
  MiddlewareOptions,
  Verifier,
  VerifierAlgorithm,
  VerifierLogger,
  VerifierOptions,
} from './types.ts';
