import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsUser, MemoryOAuthProvider } from './support/mcp-client.ts';
import { MCP_SCOPE, startMcpServer } from './support/mcp-server.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { selfSignedCertificate } from './support/test-tls.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/mcp-callback';
const user = { email: 'mcp-user@example.test', password: 'correct horse battery staple' };

/**
 * The Model Context Protocol's authorization flow end to end: an MCP server (the official SDK)
 * behind gatehouse/verifier, and the SDK's own client OAuth support given nothing but the
 * server's URL. It meets the 401, reads the resource metadata (RFC 9728), finds Gatehouse,
 * registers (RFC 7591, or a client ID metadata document), sends the user through the sign-in
 * pages with PKCE and `resource` (RFC 8707), and calls a tool with the token it got.
 */
describe('an MCP client connects to a Gatehouse-protected MCP server by itself', () => {
  const tls = selfSignedCertificate();
  let mcp: Awaited<ReturnType<typeof startMcpServer>>;
  let documents: Server;
  let documentUrl: string;

  beforeAll(async () => {
    mcp = await startMcpServer();
    // The client's metadata document must be https (draft-ietf-oauth-client-id-metadata-document §3).
    documents = createServer(tls, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'max-age=300');
      res.end(
        JSON.stringify({
          client_id: documentUrl,
          client_name: 'MCP client by document',
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          scope: MCP_SCOPE,
        }),
      );
    });
    documents.listen(0, '127.0.0.1');
    await once(documents, 'listening');
    documentUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}/mcp-client.json`;
  });
  afterAll(async () => {
    await mcp?.close();
    documents?.closeAllConnections();
    await new Promise((resolve) => documents?.close(resolve));
  });
  const gh = useTestGatehouse(
    () => ({ REGISTRATION: 'open', REGISTRATION_OPEN_APIS: mcp.url, CLIENT_ID_METADATA_DOCUMENTS: 'true' }),
    // Everything runs on 127.0.0.1 here: let Gatehouse fetch the document from this machine, trusting its test certificate.
    { outboundFetch: { allowPrivateAddresses: true, ca: tls.cert } },
  );
  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: mcp.url, scope: MCP_SCOPE });
    await gh.services.accounts.registerAccount({ ...user, name: 'MCP User' });
    await mcp.protect(gh.issuer);
  });

  it('answers an unauthenticated MCP request with a challenge that leads to its metadata, and the metadata to Gatehouse', async () => {
    const res = await fetch(mcp.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${new URL(mcp.url).origin}/.well-known/oauth-protected-resource/mcp`);
    const metadata = await (await fetch(metadataUrl!)).json();
    expect(metadata).toMatchObject({
      resource: mcp.url,
      authorization_servers: [gh.issuer],
      scopes_supported: [MCP_SCOPE],
      bearer_methods_supported: ['header'],
    });
  });

  it('registers with dynamic client registration, signs the user in and calls a tool', async () => {
    const provider = new MemoryOAuthProvider(REDIRECT_URI, {
      client_name: 'MCP client by registration',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const client = await connectAsUser(mcp.url, provider, user);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const who = JSON.parse((result.content as { text: string }[])[0]!.text) as { sub: string; client_id: string; scope: string[] };
      const registered = provider.clientInformation()!;
      expect(who).toEqual({ sub: (await gh.services.accounts.findByEmail(user.email))!.id, client_id: registered.client_id, scope: [MCP_SCOPE] });
      // An ordinary client now, registered through the open policy.
      await expect(gh.services.clients.showClient(registered.client_id)).resolves.toMatchObject({ self_registered: 'open', allowed_resources: [mcp.url] });
      expect(provider.authorizationUrl!.searchParams.get('resource')).toBe(mcp.url);
      expect(provider.authorizationUrl!.searchParams.get('code_challenge_method')).toBe('S256');
    } finally {
      await client.close();
    }
  });

  it('uses a client ID metadata document instead when it has one, and calls a tool', async () => {
    const provider = new MemoryOAuthProvider(
      REDIRECT_URI,
      { client_name: 'MCP client by document', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' },
      documentUrl,
    );
    const before = await gh.services.clients.listClients();
    const client = await connectAsUser(mcp.url, provider, user);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const who = JSON.parse((result.content as { text: string }[])[0]!.text) as { client_id: string; scope: string[] };
      expect(who).toMatchObject({ client_id: documentUrl, scope: [MCP_SCOPE] });
      // Nothing was registered: the document's client only has a row that lets operators see and delete it.
      const added = (await gh.services.clients.listClients()).filter((c) => !before.some((b) => b.client_id === c.client_id));
      expect(added).toEqual([expect.objectContaining({ client_id: documentUrl, self_registered: 'metadata_document', client_name: 'MCP client by document' })]);
    } finally {
      await client.close();
    }
  });
});
