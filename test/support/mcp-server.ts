import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { createVerifier, type Verifier } from '../../src/verifier/index.ts';

export const MCP_SCOPE = 'mcp:tools';

/**
 * An MCP server built with the official SDK (streamable HTTP, stateless), protected by
 * gatehouse/verifier, which serves its RFC 9728 metadata and names it in every 401. The port is
 * taken first (the resource identifier names it); `protect(issuer)` attaches the verifier once
 * Gatehouse is up.
 */
export async function startMcpServer(): Promise<{ url: string; protect(issuer: string): Promise<Verifier>; close(): Promise<void> }> {
  let app: express.Express | undefined;
  const server: Server = createServer((req, res) => (app ? app(req, res) : res.writeHead(503).end()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  let verifier: Verifier | undefined;

  return {
    url,
    async protect(issuer) {
      verifier = createVerifier({
        issuer,
        audience: url,
        logger: { warn: () => {} },
        resourceMetadata: { scopesSupported: [MCP_SCOPE], resourceName: 'Test MCP server' },
      });
      await verifier.ready();
      const a = express();
      a.use(verifier.expressMetadata());
      a.post('/mcp', verifier.express({ scope: MCP_SCOPE }), express.json(), async (req, res) => {
        const mcp = new McpServer({ name: 'gatehouse-test', version: '1.0.0' });
        mcp.registerTool('whoami', { description: 'Who the access token says you are' }, async () => ({
          content: [{ type: 'text', text: JSON.stringify({ sub: req.auth!.sub, client_id: req.auth!.client_id, scope: req.auth!.scope }) }],
        }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => void transport.close());
        await mcp.connect(transport);
        // The SDK would read req.auth as its own AuthInfo; the tool above reads our claims itself.
        await transport.handleRequest(req as unknown as IncomingMessage, res, req.body);
      });
      app = a;
      return verifier;
    },
    async close() {
      await verifier?.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
