import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { Provider } from 'oidc-provider';

export type UpstreamUser = { email?: string; email_verified?: boolean; name?: string };
export type UpstreamClient = { client_id: string; client_secret: string; redirect_uris: string[] };

/** An HTTP server on 127.0.0.2 (its own cookie jar in a browser: not Gatehouse's 127.0.0.1). */
export async function listenOnUpstreamHost() {
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.2');
  await once(server, 'listening');
  const origin = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    setHandler: (h: RequestListener) => {
      handler = h;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Another oidc-provider playing Google, Kakao or any OpenID Connect upstream. It signs in
 * whichever user the test names (no pages), consents, and can be told to refuse or to tamper
 * with the ID token it returns.
 */
export async function startOidcUpstream() {
  const host = await listenOnUpstreamHost();
  const issuer = host.origin;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'upstream-key', alg: 'RS256', use: 'sig' };
  const users = new Map<string, UpstreamUser>();
  const behaviour: {
    subject?: string;
    deny?: boolean;
    tamperIdToken?: (claims: Record<string, unknown>) => Record<string, unknown>;
    breakSignature?: boolean;
  } = {};

  const start = (clients: UpstreamClient[]) => {
    const provider = new Provider(issuer, {
      clients: clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'] })),
      jwks: { keys: [jwk] },
      cookies: { keys: ['upstream-cookie-key-0123456789'] },
      pkce: { required: () => true },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      conformIdTokenClaims: false, // like Google and Kakao: scope claims in the ID token itself
      features: { devInteractions: { enabled: false } },
      findAccount: async (_ctx, sub) => {
        const user = users.get(sub);
        return user && { accountId: sub, claims: async () => ({ sub, ...user }) };
      },
    });
    provider.use(async (ctx, next) => {
      if (ctx.path.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        if (behaviour.deny) {
          return provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'the user said no' });
        }
        if (details.prompt.name === 'login') {
          return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: behaviour.subject! } });
        }
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
        const d = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
        if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
        if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
        return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      }
      await next();
      // The token endpoint's answer, altered after the fact to test the client's checks.
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path === '/token' && body?.id_token && (behaviour.tamperIdToken || behaviour.breakSignature)) {
        let token = body.id_token;
        if (behaviour.tamperIdToken) {
          const claims = behaviour.tamperIdToken(decodeJwt(token) as Record<string, unknown>);
          token = await new SignJWT(claims).setProtectedHeader(decodeProtectedHeader(token) as { alg: string }).sign(privateKey);
        }
        if (behaviour.breakSignature) token = `${token.slice(0, -6)}${token.slice(-6, -5) === 'A' ? 'B' : 'A'}${token.slice(-5)}`;
        ctx.body = { ...body, id_token: token };
      }
    });
    host.setHandler(provider.callback());
  };

  return { issuer, users, behaviour, start, close: host.close };
}

export type OidcUpstream = Awaited<ReturnType<typeof startOidcUpstream>>;
