import * as oauth from 'openid-client';
import { expect } from 'vitest';
import { type CodeFlow, startCodeFlow } from './code-flow.ts';
import { signIn } from './sign-in.ts';
import type { ReceivedMail } from './smtp.ts';
import type { TestGatehouse } from './test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './user-agent.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const API = 'https://api.lifecycle.test';

/** The link a mail carries to one of Gatehouse's pages (from the text part). */
export function linkIn(mail: ReceivedMail, path: '/account/verify-email' | '/account/reset-password'): URL {
  const match = /https?:\/\/\S+/.exec(mail.text ?? '');
  expect(match, mail.text).toBeTruthy();
  const url = new URL(match![0]);
  expect(url.pathname).toBe(path);
  return url;
}

/** An application with refresh tokens and an API, registered at Gatehouse. */
export async function registerApp(gh: TestGatehouse, options: { isFirstParty?: boolean } = {}): Promise<oauth.Configuration> {
  const existing = await gh.services.resources.listResources();
  if (!existing.some((r) => r.identifier === API)) await gh.services.resources.createResource({ identifier: API, scope: 'read' });
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Lifecycle App',
    redirectUris: [REDIRECT_URI],
    scope: 'openid email profile offline_access read',
    resources: [API],
    isFirstParty: options.isFirstParty ?? true,
  });
  return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), { execute: [oauth.allowInsecureRequests] });
}

/** A code flow of the lifecycle app (consent asked for, a refresh token included unless `params` say otherwise). */
export function authorize(config: oauth.Configuration, params: Record<string, string> = {}): Promise<CodeFlow> {
  return startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email profile offline_access', prompt: 'consent', ...params });
}

/** A password sign-in all the way to tokens; the user agent keeps the session. */
export async function signInForTokens(
  config: oauth.Configuration,
  user: { email: string; password: string },
  ua: UserAgent = createUserAgent(),
  params: Record<string, string> = {},
) {
  const flow = await authorize(config, params);
  const tokens = await flow.redeem(await signIn(ua, flow.url, user, REDIRECT_URI));
  return { ua, tokens };
}

/** The interaction a fresh flow stops at (the login page), e.g. for "Forgot password?". */
export async function loginInteraction(ua: UserAgent, config: oauth.Configuration, params: Record<string, string> = {}): Promise<string> {
  const { url } = await authorize(config, params);
  const res = await ua.get(url.href);
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get('location')!, url);
  const page = await ua.get(location.href);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('name="password"');
  return location.href.replace(/\/$/, '');
}

/** The hidden token field of a page a link opened. */
export const hiddenToken = (page: string) => /name="token" value="([^"]+)"/.exec(page)?.[1];
