// Part of `npm run bench`: how fast APIs can check Gatehouse's tokens, against raw jose RS256
// verification measured in the same run on one core.
//   1. raw `jose.jwtVerify` with a local key set (the baseline)
//   2. `gatehouse/verifier`'s verify() (JWKS fetched once from a local server, then cached)
//   3. Gatehouse's /forward-auth under autocannon load (a real server on Postgres and Redis)
// Alternates 1 and 2 (BENCH_ROUNDS, at least 2) and reports medians; the machine is shared.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createVerifier } from '../src/verifier/index.ts';
import { createBenchSchema } from './bench-schema.ts';
import { freePort, runNode, startNode, stopChild, waitForHttp } from './processes.ts';
import { median } from './report.ts';

const env = process.env;
const seconds = Number(env.BENCH_VERIFY_SECONDS ?? 3);
const rounds = Math.max(2, Number(env.BENCH_ROUNDS ?? 3));
const loadSeconds = Number(env.BENCH_SECONDS ?? 10);
const connections = Number(env.BENCH_CONNECTIONS ?? 50);
const databaseUrl = env.TEST_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = env.TEST_REDIS_URL || env.REDIS_URL || 'redis://127.0.0.1:6379';
const log = (line: string) => process.stderr.write(`${line}\n`);
const API = 'https://api.bench.example';

/** Sequential calls for `seconds`: one core's rate. */
async function rate(fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i += 1) await fn();
    n += 100;
  }
  return n / seconds;
}

async function offline() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
    res.end(JSON.stringify({ keys: [jwk] }));
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => jwksServer.once('listening', resolve));
  const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  const token = await new SignJWT({ scope: 'read', client_id: 'bench' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'bench' })
    .setIssuer(issuer)
    .setAudience(API)
    .setSubject('bench')
    .setJti('j')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const keys = createLocalJWKSet({ keys: [jwk] });
  const verifier = createVerifier({ issuer, audience: API, jwksUri: `${issuer}/jwks` });
  await verifier.ready();
  const raw: number[] = [];
  const lib: number[] = [];
  try {
    for (let r = 0; r < rounds; r += 1) {
      raw.push(await rate(() => jwtVerify(token, keys, { issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'] })));
      lib.push(await rate(() => verifier.verify(token)));
      log(`round ${r + 1}: raw jose ${Math.round(raw[r]!)}/s, verifier ${Math.round(lib[r]!)}/s`);
    }
  } finally {
    await verifier.close();
    jwksServer.close();
  }
  return { raw: median(raw), verifier: median(lib) };
}

async function forwardAuth(): Promise<{ requestsPerSecond: number; p50Ms: number; p99Ms: number; non2xx: number }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = join(root, 'bin/gatehouse.js');
  const schema = await createBenchSchema(databaseUrl);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const serverEnv = {
    DATABASE_URL: schema.url,
    REDIS_URL: redisUrl,
    PORT: String(port),
    ISSUER: issuer,
    LOG_LEVEL: 'warn',
    GATEHOUSE_SECRET: 'bench-secret-bench-secret-bench-secret-01',
  };
  let child: ReturnType<typeof startNode> | undefined;
  try {
    await runNode([cli, 'resources', 'create', '--identifier', API, '--scope', 'read', '--json'], serverEnv);
    const client = JSON.parse(await runNode([cli, 'clients', 'create', '--name', 'bench', '--resource', API, '--scope', 'read', '--json'], serverEnv));
    child = startNode('gatehouse', [cli, 'serve'], serverEnv);
    await waitForHttp(`${issuer}/healthz`, child);
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const tokenRes = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=read',
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const url = `${issuer}/forward-auth?audience=${encodeURIComponent(API)}&scope=read`;
    const headers = { authorization: `Bearer ${access_token}` };
    if ((await fetch(url, { headers })).status !== 200) throw new Error('forward-auth refused the bench token');
    const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<{
      '2xx': number;
      non2xx: number;
      duration: number;
      latency: { p50: number; p99: number };
    }>;
    await autocannon({ url, headers, connections, duration: 2 }); // warm-up
    const result = await autocannon({ url, headers, connections, duration: loadSeconds });
    return { requestsPerSecond: result['2xx'] / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99, non2xx: result.non2xx };
  } finally {
    if (child) await stopChild(child);
    await schema.drop();
  }
}

const offlineResult = await offline();
log('forward-auth: starting Gatehouse on Postgres and Redis');
const fa = await forwardAuth();
const pct = (x: number) => `${Math.round(x * 100)} %`;
process.stdout.write(
  [
    '',
    `Token verification (medians of ${rounds} alternating rounds of ${seconds} s, one core)`,
    `  raw jose jwtVerify (RS256):   ${Math.round(offlineResult.raw)} tokens/s`,
    `  gatehouse/verifier verify():  ${Math.round(offlineResult.verifier)} tokens/s = ${pct(offlineResult.verifier / offlineResult.raw)} of raw (goal: >= 85 %)`,
    `  /forward-auth (${connections} connections, ${loadSeconds} s, one token): ${Math.round(fa.requestsPerSecond)} requests/s = ${pct(fa.requestsPerSecond / offlineResult.raw)} of raw (goal: >= 50 %); p50 ${fa.p50Ms} ms, p99 ${fa.p99Ms} ms, non-2xx ${fa.non2xx}`,
    JSON.stringify({ verification: { rawPerSecond: offlineResult.raw, verifierPerSecond: offlineResult.verifier, forwardAuth: fa } }),
    '',
  ].join('\n'),
);
if (fa.non2xx > 0) process.exitCode = 1;
