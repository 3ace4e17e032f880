import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { embeddedSocketFile } from '../src/db/embedded-socket.ts';
import { runCliInProcess } from './support/cli-in-process.ts';
import { type GatehouseProcess, runCli, startGatehouseProcess, within } from './support/gatehouse-process.ts';
import { oauthError } from './support/oauth-error.ts';
import { TEST_SECRET } from './support/test-gatehouse.ts';

const API = 'https://api.example.test';

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// The README's walk-through on the embedded default (no DATABASE_URL, no Redis): `npm start` in one
// terminal, `npx gatehouse …` in another. Each CLI command is a fresh Node process: seconds each.
describe('the CLI beside a running server on the embedded database', { timeout: 180_000 }, () => {
  let dataDir: string;
  let port: number;
  let env: Record<string, string>;
  const spawned: GatehouseProcess[] = [];
  const serve = () => {
    const p = startGatehouseProcess(['serve'], { ...env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` });
    spawned.push(p);
    return p;
  };
  // The commands run in this process (the same code as a `gatehouse` process, which the last case
  // runs), beside the server process: they reach its database through its socket all the same.
  const json = async (args: string[]) => {
    const result = await runCliInProcess([...args, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-beside-'));
    port = await freePort();
    env = { DATA_DIR: dataDir, GATEHOUSE_SECRET: TEST_SECRET };
  });
  afterEach(async () => {
    for (const p of spawned.splice(0)) {
      p.kill();
      await p.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('provisions an API and a client while the server runs; the server issues tokens for it at once, and refuses a rotated-out secret within seconds', async () => {
    const server = serve();
    await server.waitForLine(/gatehouse listening/, 60_000);
    const issuer = `http://127.0.0.1:${port}`;

    // The server keeps answering while the commands run (they share its one database).
    let probing = true;
    const statuses: number[] = [];
    const probes = (async () => {
      while (probing) {
        statuses.push((await fetch(`http://127.0.0.1:${port}/readyz`)).status);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      expect(await json(['migrate'])).toEqual({ applied: [] }); // the server migrated it: nothing to do
      expect(await json(['resources', 'create', '--identifier', API, '--scope', 'read write'])).toMatchObject({ identifier: API });
      const client = await json(['clients', 'create', '--name', 'billing', '--resource', API, '--scope', 'read']);
      expect(client).toMatchObject({ grant_types: ['client_credentials'], client_secret: expect.any(String) });

      const options = { execute: [oauth.allowInsecureRequests] };
      const configure = (secret: string) => oauth.discovery(new URL(issuer), client.client_id, undefined, oauth.ClientSecretBasic(secret), options);
      // At once, no restart: the client and its API are new to the running server.
      const first = await configure(client.client_secret);
      const tokens = await oauth.clientCredentialsGrant(first, { scope: 'read' });
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: API });
      expect(payload).toMatchObject({ client_id: client.client_id, scope: 'read' });

      const rotated = await json(['clients', 'rotate-secret', client.client_id]);
      expect(rotated.client_secret).not.toBe(client.client_secret);
      // The server's client cache keeps entries for a minute; the CLI's change notice must reach it.
      await vi.waitFor(
        async () => expect(await oauthError(oauth.clientCredentialsGrant(first, { scope: 'read' }))).toEqual({ status: 401, error: 'invalid_client' }),
        { timeout: 5_000, interval: 100 },
      );
      const again = await oauth.clientCredentialsGrant(await configure(rotated.client_secret), { scope: 'read' });
      expect(again.access_token).toEqual(expect.any(String));
    } finally {
      probing = false;
      await probes;
    }
    expect(statuses.length).toBeGreaterThan(0);
    expect(
      statuses.every((s) => s === 200),
      `readyz answered ${[...new Set(statuses)].join(', ')}`,
    ).toBe(true);
    expect(server.output()).not.toMatch(/"level":(50|60)/);
  });

  it('after a crash leaves its pid file and socket behind, a restarted server shares again, and once it stops commands work on their own', async () => {
    const crashed = serve();
    await crashed.waitForLine(/gatehouse listening/, 60_000);
    crashed.child.kill('SIGKILL');
    await within(crashed.exited, 10_000, 'exit after SIGKILL');
    expect(existsSync(embeddedSocketFile(dataDir)), 'the crashed server left its socket file').toBe(true);

    const server = serve();
    await server.waitForLine(/gatehouse listening/, 60_000);
    expect((await stat(embeddedSocketFile(dataDir))).isSocket()).toBe(true);
    const client = await json(['clients', 'create', '--name', 'after the crash', '--grant-type', 'client_credentials']);

    server.child.kill('SIGTERM');
    expect(await within(server.exited, 15_000, 'exit after SIGTERM')).toBe(0);
    expect(existsSync(embeddedSocketFile(dataDir)), 'a server that stops removes its socket').toBe(false);
    expect(await json(['clients', 'list'])).toEqual([expect.objectContaining({ client_id: client.client_id })]);
  });

  it('refuses in one line while a process that does not share the database (another command) holds it', async () => {
    // A live process that is not a server, holding the lock as a running command would.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await mkdir(join(dataDir, 'pgdata'), { recursive: true });
      await writeFile(join(dataDir, 'pgdata', 'gatehouse.pid'), String(holder.pid));
      const result = await runCli(['clients', 'list'], env);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^gatehouse: [^\\n]*in use by process ${holder.pid}, which does not share it[^\\n]*DATABASE_URL[^\\n]*\\n$`));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
