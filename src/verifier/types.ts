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
  /** Allowed clock skew for exp, nbf and iat. Default 5. */
  clockToleranceSeconds?: number;
  /** Follow Gatehouse's revocation feed with this API's own client (one created with --introspect). */
  revocation?: {
    clientId: string;
    clientSecret: string;
    /** Default `${issuer}/revocations`. */
    feedUrl?: string;
    /** Default 5000. */
    pollIntervalMs?: number;
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
  /** Every claim of the token, as sent. */
  claims: Record<string, unknown>;
};

export type MiddlewareOptions = {
  /** Scopes the route needs (all of them): `'read'`, `'read write'` or `['read', 'write']`. */
  scope?: string | string[];
};

/**
 * Structural types, so neither koa nor express (nor their types) is needed to use this module.
 * Koa's and Express's own middleware types accept these functions.
 */
export type KoaContextLike = {
  get(field: string): string;
  set(field: string, value: string): void;
  status: number;
  body: unknown;
  state: Record<string, unknown> & { auth?: AccessTokenClaims };
};
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

export type ExpressRequestLike = { headers: { authorization?: string | undefined }; auth?: AccessTokenClaims };
export type ExpressResponseLike = {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
};
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: (err?: unknown) => void) => void;

export type Verifier = {
  /** Verifies a bearer token; throws a VerificationError (401) if it is not a valid, unrevoked access token. */
  verify(token: string): Promise<AccessTokenClaims>;
  /** Koa middleware: sets `ctx.state.auth`, or answers 401/403 with `WWW-Authenticate`. */
  koa(options?: MiddlewareOptions): KoaMiddleware;
  /** Express (or connect) middleware: sets `req.auth`, or answers 401/403 with `WWW-Authenticate`. */
  express(options?: MiddlewareOptions): ExpressMiddleware;
  /** Settles once the first JWKS fetch and the first revocation sync are done (or failed and logged). */
  ready(): Promise<void>;
  /** Stops following the revocation feed. */
  close(): Promise<void>;
};
