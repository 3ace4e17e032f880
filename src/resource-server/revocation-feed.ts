import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { clientExtras } from '../clients/client-extras.ts';
import { parseBasicAuth } from '../http/basic-auth.ts';
import { sendOAuthError } from '../http/oauth-error.ts';
import type { RevocationList } from '../revocation/revocation-list.ts';

const MAX_LIMIT = 1000;

/**
 * GET /revocations?cursor=…&limit=…: the revocation feed for resource servers, so they refuse
 * revoked JWTs within seconds without calling introspection per request. Authenticated with
 * HTTP Basic by a client registered with --introspect (an API's own client).
 */
export function revocationFeed(options: { provider: Provider; revocations: RevocationList }): Middleware {
  const unauthorized = (ctx: Parameters<Middleware>[0]) => {
    sendOAuthError(ctx, 401, 'invalid_client', 'client authentication failed', { 'WWW-Authenticate': 'Basic realm="gatehouse"' });
  };
  return async (ctx, next) => {
    if (ctx.path !== '/revocations' || ctx.method !== 'GET') return next();
    ctx.state.route = 'revocations';
    ctx.set('Cache-Control', 'no-store');
    const credentials = parseBasicAuth(ctx.get('authorization'));
    if (!credentials) return unauthorized(ctx);
    const { clientId, clientSecret: secret } = credentials;
    const client = await options.provider.Client.find(clientId).catch(() => undefined);
    // HTTP Basic is the feed's only authentication: only for clients registered with it (RFC 7591 §2).
    const allowed = client && clientExtras(client).can_introspect === true && client.clientAuthMethod === 'client_secret_basic';
    if (!client || !(await client.compareClientSecret(secret)) || !allowed) return unauthorized(ctx);

    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor : undefined;
    if (cursor !== undefined && !/^[\d-]{1,40}$/.test(cursor)) {
      return sendOAuthError(ctx, 400, 'invalid_request', 'cursor is malformed');
    }
    const limit = Math.min(MAX_LIMIT, Math.max(1, Number(ctx.query.limit) || MAX_LIMIT));
    ctx.body = await options.revocations.feed(cursor, limit);
  };
}
