import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { listenOnUpstreamHost } from './upstream-oidc.ts';

export type NaverUser = { id: string; email?: string; name?: string; nickname?: string };

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Naver Login's endpoints as they behave: /oauth2.0/authorize redirects back with code and state,
 * /oauth2.0/token wants client_id, client_secret, code and state in the form and answers errors
 * with status 200, /v1/nid/me gives the profile under `response` with resultcode "00".
 */
export async function startNaverUpstream(client: { clientId: string; clientSecret: string }) {
  const host = await listenOnUpstreamHost();
  const codes = new Map<string, { user: NaverUser; state: string; redirectUri: string }>();
  const tokens = new Map<string, NaverUser>();
  const behaviour: { user?: NaverUser; deny?: boolean; profileFails?: boolean } = {};
  const tokenRequests: URLSearchParams[] = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' }).end(JSON.stringify(body));

  host.setHandler(async (req, res) => {
    const url = new URL(req.url!, host.origin);
    if (url.pathname === '/oauth2.0/authorize' && req.method === 'GET') {
      const q = url.searchParams;
      if (q.get('client_id') !== client.clientId || q.get('response_type') !== 'code' || !q.get('state')) return json(res, 400, { error: 'invalid_request' });
      const back = new URL(q.get('redirect_uri')!);
      if (behaviour.deny) {
        back.search = new URLSearchParams({ state: q.get('state')!, error: 'access_denied', error_description: 'Canceled By User' }).toString();
      } else {
        const code = randomBytes(12).toString('base64url');
        codes.set(code, { user: behaviour.user!, state: q.get('state')!, redirectUri: q.get('redirect_uri')! });
        back.search = new URLSearchParams({ code, state: q.get('state')! }).toString();
      }
      return res.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === '/oauth2.0/token' && req.method === 'POST') {
      const form = await readBody(req);
      tokenRequests.push(form);
      const issued = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret || !issued || issued.state !== form.get('state')) {
        return json(res, 200, { error: 'invalid_request', error_description: 'no valid code, state or client' }); // Naver: errors with 200
      }
      const accessToken = randomBytes(24).toString('base64url');
      tokens.set(accessToken, issued.user);
      return json(res, 200, { access_token: accessToken, refresh_token: randomBytes(24).toString('base64url'), token_type: 'bearer', expires_in: '3600' });
    }
    if (url.pathname === '/v1/nid/me' && req.method === 'GET') {
      const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!user || behaviour.profileFails) return json(res, 401, { resultcode: '024', message: 'Authentication failed / 인증에 실패했습니다.' });
      return json(res, 200, { resultcode: '00', message: 'success', response: user });
    }
    res.writeHead(404).end();
  });

  return {
    origin: host.origin,
    env: {
      UPSTREAM_NAVER_CLIENT_ID: client.clientId,
      UPSTREAM_NAVER_CLIENT_SECRET: client.clientSecret,
      UPSTREAM_NAVER_AUTHORIZATION_URL: `${host.origin}/oauth2.0/authorize`,
      UPSTREAM_NAVER_TOKEN_URL: `${host.origin}/oauth2.0/token`,
      UPSTREAM_NAVER_PROFILE_URL: `${host.origin}/v1/nid/me`,
    },
    behaviour,
    tokenRequests,
    close: host.close,
  };
}

export type NaverUpstream = Awaited<ReturnType<typeof startNaverUpstream>>;
