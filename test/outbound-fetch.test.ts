import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundFetch, isSpecialUseAddress } from '../src/http/outbound-fetch.ts';
import { selfSignedCertificate } from './support/test-tls.ts';

/** What Gatehouse fetches at a client's say-so (metadata documents, jwks_uri, back-channel logout) cannot be aimed inside. */
describe('outbound fetch (SSRF protection)', () => {
  const tls = selfSignedCertificate();
  let server: Server;
  let plain: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = createHttpsServer(tls, (req, res) => {
      hits += 1;
      if (req.url === '/big') return res.end('x'.repeat(300 * 1024));
      if (req.url === '/redirect') return res.writeHead(302, { location: 'https://127.0.0.1:1/elsewhere' }).end();
      if (req.url === '/slow') return; // never answers
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, method: req.method }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    plain = createHttpServer((_req, res) => res.end('plain'));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
  });
  afterAll(async () => {
    server.closeAllConnections();
    plain.closeAllConnections();
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => plain.close(r))]);
  });

  it.each([
    ['127.0.0.1'],
    ['10.1.2.3'],
    ['172.20.0.1'],
    ['192.168.1.1'],
    ['169.254.169.254'],
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['224.0.0.1'],
    ['::1'],
    ['::'],
    ['fe80::1'],
    ['fd00::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:10.0.0.1'],
    ['64:ff9b::a00:1'],
  ])('counts %s as an address it must not reach', (address) => {
    expect(isSpecialUseAddress(address)).toBe(true);
  });

  it.each([['93.184.216.34'], ['8.8.8.8'], ['2606:4700:4700::1111']])('lets %s be reached', (address) => {
    expect(isSpecialUseAddress(address)).toBe(false);
  });

  it('refuses loopback, by address and by a name that resolves to it, before connecting', async () => {
    const fetchOut = createOutboundFetch({ ca: tls.cert });
    const before = hits;
    await expect(fetchOut(`https://127.0.0.1:${port}/doc`)).rejects.toThrow(/may not be reached/);
    await expect(fetchOut(`https://localhost:${port}/doc`)).rejects.toThrow(/may not be reached/);
    await expect(fetchOut(`https://[::1]:${port}/doc`)).rejects.toThrow(/may not be reached/);
    await expect(fetchOut('https://169.254.169.254/latest/meta-data/')).rejects.toThrow(/may not be reached/);
    expect(hits).toBe(before); // nothing reached the server
  });

  it('fetches https only, follows no redirect and bounds the size and the time', async () => {
    const testOnly = createOutboundFetch({ allowPrivateAddresses: true, ca: tls.cert });
    const ok = await testOnly(`https://127.0.0.1:${port}/doc`, { method: 'POST', body: new URLSearchParams({ a: 'b' }) });
    expect(await ok.json()).toEqual({ ok: true, method: 'POST' });
    await expect(testOnly(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`)).rejects.toThrow(/only https/);
    const redirect = await testOnly(`https://127.0.0.1:${port}/redirect`);
    expect(redirect.status).toBe(302);
    await expect(testOnly(`https://127.0.0.1:${port}/big`)).rejects.toThrow(/too large/);
    const started = Date.now();
    await expect(testOnly(`https://127.0.0.1:${port}/slow`, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(testOnly(`https://user:pw@127.0.0.1:${port}/doc`)).rejects.toThrow(/credentials/);
  });

  it('refuses a certificate it does not trust', async () => {
    const strict = createOutboundFetch({ allowPrivateAddresses: true });
    await expect(strict(`https://127.0.0.1:${port}/doc`)).rejects.toThrow();
  });
});
