import * as oauth from 'openid-client';

type Tokens = Awaited<ReturnType<typeof oauth.authorizationCodeGrant>>;

export type CodeFlow = {
  /** The authorization request, for a user agent to open. */
  url: URL;
  verifier: string;
  state: string;
  nonce: string | undefined;
  /** The code exchange for the callback this flow came back to: PKCE, state and (when sent) nonce checked. */
  redeem: (callback: URL, tokenEndpointParameters?: Record<string, string>) => Promise<Tokens>;
};

/**
 * An authorization code flow with PKCE (RFC 7636, S256) as a client starts it: `params` go into the
 * authorization request, with a random state unless they name one. The flow keeps what the client
 * keeps (verifier, state, nonce) for its code exchange.
 */
export async function startCodeFlow(config: oauth.Configuration, params: Record<string, string>): Promise<CodeFlow> {
  const verifier = oauth.randomPKCECodeVerifier();
  const state = params.state ?? oauth.randomState();
  const nonce = params.nonce;
  const url = oauth.buildAuthorizationUrl(config, {
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
    state,
  });
  return {
    url,
    verifier,
    state,
    nonce,
    redeem: (callback, tokenEndpointParameters) =>
      oauth.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, tokenEndpointParameters),
  };
}
