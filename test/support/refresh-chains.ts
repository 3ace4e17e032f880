import * as oauth from 'openid-client';
import { startCodeFlow } from './code-flow.ts';
import { signIn } from './sign-in.ts';
import { createUserAgent } from './user-agent.ts';

/** What a confidential client needs to refresh by raw HTTP. */
export type TokenClient = { tokenEndpoint: string; clientId: string; clientSecret: string };
export type RefreshAnswer = { status: number; body: Record<string, unknown>; ms: number };

/**
 * One refresh_token grant by plain fetch, authenticated with client_secret_basic (or the form, for
 * `auth: 'post'`). Resolves with whatever the server answered; rejects only when there was no answer
 * (connection refused or reset).
 */
export async function refresh(client: TokenClient, refreshToken: string, auth: 'basic' | 'post' = 'basic'): Promise<RefreshAnswer> {
  const started = Date.now();
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (auth === 'basic') {
    const encode = (s: string) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', client.clientId);
    form.set('client_secret', client.clientSecret);
  }
  const res = await fetch(client.tokenEndpoint, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, ms: Date.now() - started };
}

/** Signs `user` in `count` times (pages, consent, code exchange) and returns each chain's first refresh token. */
export async function startChains(
  issuer: string,
  client: TokenClient,
  user: { email: string; password: string },
  options: { count: number; redirectUri: string; scope: string },
): Promise<string[]> {
  const config = await oauth.discovery(new URL(issuer), client.clientId, undefined, oauth.ClientSecretBasic(client.clientSecret), {
    execute: [oauth.allowInsecureRequests],
  });
  const tokens: string[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const flow = await startCodeFlow(config, { redirect_uri: options.redirectUri, scope: options.scope, prompt: 'consent' });
    const result = await flow.redeem(await signIn(createUserAgent(), flow.url, user, options.redirectUri));
    tokens.push(result.refresh_token!);
  }
  return tokens;
}

/** Per chain: the token it last presented, and the answer that request got (none if it failed). */
export type ChainAtFault = { presented: string; answer?: Record<string, unknown> };

/**
 * Every chain refreshes in a loop of its own. Once `warmup` refreshes have succeeded in all, `fault`
 * runs while the loops go on, so it hits rotations in flight. A loop then stops at its first request
 * that fails, or after the first request it started once the fault was complete.
 */
export async function refreshUntilFault(
  client: TokenClient,
  tokens: string[],
  options: { warmup: number; fault: () => Promise<void> },
): Promise<ChainAtFault[]> {
  let succeeded = 0;
  let phase: 'before' | 'injecting' | 'after' = 'before';
  let injected: Promise<void> = Promise.resolve();
  const loops = tokens.map(async (first): Promise<ChainAtFault> => {
    let current = first;
    for (;;) {
      const startedAfterFault = phase === 'after';
      let answer: RefreshAnswer;
      try {
        answer = await refresh(client, current);
      } catch {
        return { presented: current };
      }
      if (answer.status !== 200) return { presented: current };
      if (startedAfterFault) return { presented: current, answer: answer.body };
      current = answer.body.refresh_token as string;
      succeeded += 1;
      if (succeeded >= options.warmup && phase === 'before') {
        phase = 'injecting';
        // Even a fault that failed to happen lets the loops stop; awaiting it below rethrows.
        injected = options.fault().finally(() => {
          phase = 'after';
        });
      }
    }
  });
  const chains = await Promise.all(loops);
  await injected;
  if (phase === 'before') throw new Error(`the fault never ran: only ${succeeded} of ${options.warmup} refreshes succeeded first`);
  return chains;
}

export type ChainAfterFault = { retry: RefreshAnswer; next?: RefreshAnswer; isLost: boolean; gotSavedAnswer?: boolean };

/**
 * What a client does after a fault: it retries the token it last presented (it never got, or lost,
 * the answer) until the server answers other than 5xx, then refreshes once more with what it got.
 * A chain is lost when either is refused.
 */
export async function retryAfterFault(client: TokenClient, chain: ChainAtFault, deadlineMs = 30_000): Promise<ChainAfterFault> {
  const deadline = Date.now() + deadlineMs;
  let retry: RefreshAnswer | undefined;
  while (Date.now() < deadline) {
    try {
      retry = await refresh(client, chain.presented);
      if (retry.status < 500) break;
    } catch {
      // no answer yet: the server is still coming back
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!retry) throw new Error('the server never answered the retry');
  if (retry.status !== 200) return { retry, isLost: true };
  const next = await refresh(client, retry.body.refresh_token as string);
  return {
    retry,
    next,
    isLost: next.status !== 200,
    gotSavedAnswer: chain.answer ? retry.body.refresh_token === chain.answer.refresh_token : undefined,
  };
}
