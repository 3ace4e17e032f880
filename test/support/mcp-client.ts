import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { signIn } from './sign-in.ts';
import { createUserAgent } from './user-agent.ts';

/**
 * The SDK's OAuth client support as an MCP client application would use it, kept in memory. The
 * "browser" is our cookie-keeping agent: redirectToAuthorization only records the URL, and the
 * test walks Gatehouse's pages with it.
 */
export class MemoryOAuthProvider implements OAuthClientProvider {
  authorizationUrl?: URL;
  private info?: OAuthClientInformationMixed;
  private saved?: OAuthTokens;
  private verifier = '';
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  /** Set: the SDK uses it as a client ID metadata document URL when the server supports them. */
  readonly clientMetadataUrl?: string;
  constructor(redirectUrl: string, clientMetadata: OAuthClientMetadata, clientMetadataUrl?: string) {
    this.redirectUrl = redirectUrl;
    this.clientMetadata = clientMetadata;
    this.clientMetadataUrl = clientMetadataUrl;
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/**
 * Connects to an MCP server knowing only its URL: the first attempt meets the 401, the SDK
 * discovers and registers and sends the user to sign in; the user does (Gatehouse's pages); the
 * SDK redeems the code; the second attempt connects. Returns the connected client.
 */
export async function connectAsUser(serverUrl: string, provider: MemoryOAuthProvider, user: { email: string; password: string }): Promise<Client> {
  const first = new Client({ name: 'gatehouse-test-client', version: '1.0.0' });
  const refused = await first.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider })).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(refused instanceof UnauthorizedError)) throw new Error(`expected the SDK to ask for a sign-in, got ${String(refused)}`);
  if (!provider.authorizationUrl) throw new Error('the SDK did not start an authorization');
  const callback = await signIn(createUserAgent(), provider.authorizationUrl, user, provider.redirectUrl);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code at the callback: ${callback.search}`);
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  await transport.finishAuth(code);
  const client = new Client({ name: 'gatehouse-test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider }));
  return client;
}
