import type { ProtectedResourceMetadata } from './resource-metadata.ts';

/** The algorithms a verifier may accept: asymmetric only, never `none`, never HS*. */
export type VerifierAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export type VerifierLogger = { warn(obj: object, msg?: string): void };

export type VerifierOptions = {
  /** The exact `iss` of the tokens, e.g. `https://auth.example.com`. */
  issuer: string;
  /** Accepted `aud` values: the identifier(s) of this API. */
  audience: string | string[];
  /** Default `${issuer}/jwks`. */
  jwksUri?: string;
  /** Default `['RS256']` (what Gatehouse signs with). */
  algorithms?: VerifierAlgorithm[];
  /** Allowed clock skew for exp, nbf and iat (and a DPoP proof's iat). Default 5, as Gatehouse's own checks. */
  clockToleranceSeconds?: number;
  /** DPoP-bound tokens (RFC 9449): how the proofs that come with them are checked. */
  dpop?: {
    /**
     * This API's public origin, e.g. `https://api.example.com`: a proof's `htu` must be this
     * origin plus the request's path. Default: the origin the request names (its Host header and
     * protocol, as Koa's `ctx.protocol`/`ctx.host` and Express's `req.protocol` see them).
     */
    origin?: string;
    /** How many used proof ids are remembered, for replay detection. Default 100000. */
    maxReplayEntries?: number;
  };
  /** Follow Gatehouse's revocation feed with this API's own client (one created with --introspect). */
  revocation?: {
    clientId: string;
    clientSecret: string;
    /** Default `${issuer}/revocations`. */
    feedUrl?: string;
    /** Default 5000. */
    pollIntervalMs?: number;
  };
  /**
   * RFC 9728 protected resource metadata: with this set, the verifier's challenges carry
   * `resource_metadata` and `koaMetadata()`/`expressMetadata()` serve the document, so a client
   * that meets a 401 finds Gatehouse by itself (the MCP authorization flow starts there).
   */
  resourceMetadata?: {
    /** The resource identifier clients ask tokens for (the token's `aud`). Default: the first `audience`. */
    resource?: string;
    /** The scopes to advertise (`scopes_supported`); clients ask for these. */
    scopesSupported?: string[];
    resourceName?: string;
    resourceDocumentation?: string;
    /** Where the document is served. Default: the RFC 9728 §3.1 well-known URL of `resource`. */
    url?: string;
  };
  /** Default: console.warn. */
  logger?: VerifierLogger;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
};

/** A verified RFC 9068 access token. */
export type AccessTokenClaims = {
  sub: string;
  client_id: string;
  /** The `scope` claim split on spaces. */
  scope: string[];
  aud: string | string[];
  iss: string;
  exp: number;
  iat: number;
  jti?: string;
  /** Gatehouse's grant digest, matched by grant revocations. */
  gid?: string;
  /** The user's roles at this API (the `roles` claim; empty when the token has none). */
  roles: string[];
  /** RFC 9449 §6.1: the token is DPoP-bound to the key with this thumbprint (and its proof was checked). */
  cnf?: { jkt: string };
  /** Every claim of the token, as sent. */
  claims: Record<string, unknown>;
};

/**
 * How the token came with the request. Default: `Authorization: Bearer` (RFC 6750). For
 * `Authorization: DPoP` (RFC 9449 §7.1) give the scheme, the `DPoP` header, the request's method
 * and its full URL (query and fragment are ignored).
 */
export type VerifyRequest = { scheme?: 'Bearer' } | { scheme: 'DPoP'; proof: string | undefined; method: string; url: string };

export type MiddlewareOptions = {
  /** Scopes the route needs (all of them): `'read'`, `'read write'` or `['read', 'write']`. */
  scope?: string | string[];
  /**
   * Roles the route needs (all of them), from the token's `roles` claim: `'editor'`,
   * `'editor auditor'` or `['editor', 'auditor']`. The API must ask Gatehouse for the claim
   * (`resources update --token-claim roles`).
   */
  role?: string | string[];
};

/**
 * Structural types, so neither koa nor express (nor their types) is needed to use this module.
 * Koa's and Express's own middleware types accept these functions.
 */
export type KoaContextLike = {
  get(field: string): string;
  method: string;
  /** The request's path, without the query. */
  path: string;
  /** As Koa sees them (`app.proxy` decides whether X-Forwarded-* count). */
  protocol: string;
  host: string;
  set(field: string, value: string): void;
  status: number;
  body: unknown;
  state: Record<string, unknown> & { auth?: AccessTokenClaims };
};
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

export type ExpressRequestLike = {
  headers: { authorization?: string | undefined; dpop?: string | string[] | undefined; host?: string | undefined };
  method?: string;
  /** Express's, with the mount path; plain node:http has only `url`. */
  originalUrl?: string;
  url?: string;
  /** Express's (its `trust proxy` setting decides whether X-Forwarded-Proto counts); default http. */
  protocol?: string;
  auth?: AccessTokenClaims;
};
export type ExpressResponseLike = {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
};
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: (err?: unknown) => void) => void;

export type Verifier = {
  /**
   * Verifies an access token; throws a VerificationError (401) if it is not a valid, unrevoked
   * access token. A DPoP-bound token passes only with `request` naming the DPoP scheme and a
   * valid proof for this request.
   */
  verify(token: string, request?: VerifyRequest): Promise<AccessTokenClaims>;
  /** Koa middleware: sets `ctx.state.auth`, or answers 401/403 with `WWW-Authenticate`. */
  koa(options?: MiddlewareOptions): KoaMiddleware;
  /** Express (or connect) middleware: sets `req.auth`, or answers 401/403 with `WWW-Authenticate`. */
  express(options?: MiddlewareOptions): ExpressMiddleware;
  /** RFC 9728: the document and where it is served, when `resourceMetadata` was given. */
  resourceMetadata?: { url: string; document: ProtectedResourceMetadata };
  /** Koa middleware answering GET at the metadata URL's path (needs `resourceMetadata`). */
  koaMetadata(): KoaMiddleware;
  /** Express (or connect) middleware answering GET at the metadata URL's path (needs `resourceMetadata`). */
  expressMetadata(): ExpressMiddleware;
  /** Settles once the first JWKS fetch and the first revocation sync are done (or failed and logged). */
  ready(): Promise<void>;
  /** Stops following the revocation feed. */
  close(): Promise<void>;
};
