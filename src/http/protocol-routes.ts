/**
 * oidc-provider's endpoints at its default paths (we configure none), by the name it gives each
 * route (`ctx.oidc.route`). A request that fails in our own middleware before the library's router
 * ran has no `ctx.oidc.route` yet; this names it all the same.
 */
const ROUTES = new Map<string, string>([
  ['/auth', 'authorization'],
  ['/backchannel', 'backchannel_authentication'],
  ['/device', 'code_verification'],
  ['/device/auth', 'device_authorization'],
  ['/session/end', 'end_session'],
  ['/token/introspection', 'introspection'],
  ['/jwks', 'jwks'],
  ['/request', 'pushed_authorization_request'],
  ['/reg', 'registration'],
  ['/token/revocation', 'revocation'],
  ['/token', 'token'],
  ['/me', 'userinfo'],
  ['/.well-known/openid-configuration', 'discovery'],
]);

/** Called by programs, not browsers: errors there are OAuth error JSON (RFC 6749 §5.2), never a page. */
const API_ROUTES = new Set([
  'backchannel_authentication',
  'device_authorization',
  'introspection',
  'jwks',
  'pushed_authorization_request',
  'registration',
  'revocation',
  'token',
  'userinfo',
  'discovery',
]);

export function protocolRouteName(path: string): string | undefined {
  return ROUTES.get(path);
}

export function isProtocolApi(path: string): boolean {
  const name = ROUTES.get(path);
  return name !== undefined && API_ROUTES.has(name);
}
