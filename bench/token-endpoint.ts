// `npm run bench`: client_credentials throughput of Gatehouse (real Postgres and Redis; WORKERS=1,
// the default start, and WORKERS=auto) against openssl's single-core signing rate, a bare
// oidc-provider with its in-memory adapter and the library peer (@jmondi/oauth2-server with
// synchronous jsonwebtoken signing), all in one run, alternating rounds; then one connection's
// latency, and Gatehouse's ES256 and EdDSA APIs. Progress goes to stderr; the table, the ratios
// and, on the last line, the same figures as JSON go to stdout.
//
// Environment: TEST_DATABASE_URL or DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
// TEST_REDIS_URL or REDIS_URL (default redis://127.0.0.1:6379), BENCH_CONNECTIONS (50),
// BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (3, at least 2), BENCH_SIGN_SECONDS (3),
// BENCH_LATENCY_SECONDS (5), BENCH_AUDIT (Gatehouse's AUDIT_TOKENS_ISSUED, true).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBenchSchema } from './bench-schema.ts';
import { type LoadResult, loadTokenEndpoint, oneConnectionLatency, type TokenRequest, tokenRequestInit } from './load.ts';
import { type Child, freePort, runNode, startNode, stopChild, waitForHttp } from './processes.ts';
import { cpuSecondsOf, median, printReport, type TargetSummary } from './report.ts';
import { measureSigning } from './signing-baseline.ts';
import { createStorageCounter, type StorageOpsPerToken } from './storage-ops.ts';

const env = process.env;
const positiveInt = (name: string, fallback: number) => {
  const n = Number(env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};
const settings = {
  databaseUrl: env.TEST_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: env.TEST_REDIS_URL || env.REDIS_URL || 'redis://127.0.0.1:6379',
  connections: positiveInt('BENCH_CONNECTIONS', 50),
  seconds: positiveInt('BENCH_SECONDS', 10),
  warmupSeconds: positiveInt('BENCH_WARMUP_SECONDS', 2),
  rounds: Math.max(2, positiveInt('BENCH_ROUNDS', 3)),
  signSeconds: positiveInt('BENCH_SIGN_SECONDS', 3),
  latencySeconds: positiveInt('BENCH_LATENCY_SECONDS', 5),
};

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin/gatehouse.js');
const API = 'https://api.bench.example';
// APIs that chose another algorithm (gatehouse only): their rates against openssl's for that curve.
const OTHER_ALGS = { ES256: 'https://es256.bench.example', EdDSA: 'https://eddsa.bench.example' } as const;
const withoutPassword = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
const log = (line: string) => process.stderr.write(`${line}\n`);

// Undone in reverse order on success, failure and Ctrl-C. One drain at a time: a signal during the
// final clean-up must not exit while a schema drop is still running.
const cleanups: (() => Promise<unknown>)[] = [];
let draining: Promise<void> | undefined;
let interrupted = false;
function cleanUp(): Promise<void> {
  draining ??= (async () => {
    for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) {
      await fn().catch((err: Error) => log(`cleanup: ${err.message}`));
    }
    draining = undefined;
  })();
  return draining;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping servers and dropping the schema`);
    void cleanUp().finally(() => process.exit(130));
  });
}

type Target = { name: string; child: Child; token: TokenRequest; schema?: { schema: string; url: string }; apis?: Record<string, TokenRequest> };

async function startGatehouse(name: string, workers: string): Promise<Target> {
  const schema = await createBenchSchema(settings.databaseUrl);
  cleanups.push(() => schema.drop());
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-')); // unused with DATABASE_URL; keeps ./data clean
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const serverEnv = {
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    DATABASE_URL: schema.url,
    // No key prefix setting exists; client_credentials JWTs are never stored, and anything else expires.
    REDIS_URL: settings.redisUrl,
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    WORKERS: workers,
    // The per-client limiter stays in the path (its cost is measured) but must not cap one client's load.
    TOKEN_RATE_LIMIT_PER_SECOND: '1000000',
    AUDIT_TOKENS_ISSUED: env.BENCH_AUDIT ?? 'true',
  };
  const runCli = async (...args: string[]) => JSON.parse(await runNode([cli, ...args, '--json'], serverEnv));
  await runCli('resources', 'create', '--identifier', API, '--scope', 'read write');
  for (const [alg, identifier] of Object.entries(OTHER_ALGS))
    await runCli('resources', 'create', '--identifier', identifier, '--scope', 'read', '--signing-alg', alg);
  const client = (await runCli(
    'clients',
    'create',
    '--name',
    'bench',
    '--grant-type',
    'client_credentials',
    '--resource',
    API,
    ...Object.values(OTHER_ALGS).flatMap((r) => ['--resource', r]),
    '--scope',
    'read',
  )) as { client_id: string; client_secret: string };
  // Their keys were announced just now; a bench cannot wait out the announce period (the JWKS
  // max-age), so it moves their activation time to now: the server's first schedule pass at start
  // activates them, as it would 11 minutes later.
  await schema.activateAnnouncedKeys();

  const check = await schema.check();
  log(`postgres schema ${schema.schema}: search_path=${check.searchPath}; tables ${check.tables.join(', ')}`);
  if (!check.tables.includes('clients') || check.clients !== 1 || check.resources !== 1 + Object.keys(OTHER_ALGS).length) {
    throw new Error(`the CLI did not write into schema ${schema.schema}: ${JSON.stringify(check)}`);
  }

  const child = startNode('gatehouse', [cli, 'serve'], serverEnv);
  cleanups.push(() => stopChild(child));
  await waitForHttp(`${issuer}/healthz`, child);
  const token = (resource?: string) => ({ url: `${issuer}/token`, clientId: client.client_id, clientSecret: client.client_secret, scope: 'read', resource });
  return { name, child, token: token(API), schema, apis: Object.fromEntries(Object.entries(OTHER_ALGS).map(([alg, r]) => [alg, token(r)])) };
}

async function startPeer(): Promise<Target> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const token = { url: `${issuer}/token`, clientId: 'bench-client', clientSecret: randomBytes(32).toString('base64url'), scope: 'read' };
  const child = startNode('peer', [join(root, 'bench/peer-jmondi.ts')], {
    PORT: String(port),
    BENCH_CLIENT_ID: token.clientId,
    BENCH_CLIENT_SECRET: token.clientSecret,
    BENCH_API: API,
  });
  cleanups.push(() => stopChild(child));
  await waitForHttp(`${issuer}/healthz`, child, 60_000, [404]);
  return { name: 'peer', child, token };
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const token = { url: `${issuer}/token`, clientId: 'bench-client', clientSecret: randomBytes(32).toString('base64url'), scope: 'read' };
  const child = startNode('bare oidc-provider', [join(root, 'bench/bare-provider.ts')], {
    PORT: String(port),
    BENCH_CLIENT_ID: token.clientId,
    BENCH_CLIENT_SECRET: token.clientSecret,
    BENCH_API: API,
  });
  cleanups.push(() => stopChild(child));
  await waitForHttp(`${issuer}/.well-known/openid-configuration`, child);
  return { name: 'bare', child, token };
}

/** One request by hand: both targets must answer with the same kind of token, or the race is unfair. */
async function checkToken(target: Target, token = target.token, alg = 'RS256', audience = API): Promise<void> {
  const res = await fetch(token.url, { ...tokenRequestInit(token), signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { access_token?: string; token_type?: string; scope?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`${target.name}: token request answered ${res.status} ${JSON.stringify(body)}`);
  const [header, payload] = body.access_token
    .split('.')
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
  if (header.alg !== alg || header.typ !== 'at+jwt' || payload.aud !== audience || payload.scope !== 'read') {
    throw new Error(`${target.name}: not an ${alg} at+jwt for ${audience} with scope read: ${JSON.stringify({ header, payload })}`);
  }
  log(`${target.name}: ${body.token_type} JWT, ${body.access_token.length} chars, claims ${Object.keys(payload).join(' ')}`);
}

async function measure(target: Target, round: number | string, token = target.token): Promise<LoadResult & { serverCpuMsPerToken: number | undefined }> {
  const options = { connections: settings.connections };
  const warm = await loadTokenEndpoint(token, { ...options, seconds: settings.warmupSeconds });
  const cpuBefore = await cpuSecondsOf(target.child.process.pid!);
  const ownCpu = process.cpuUsage();
  const result = await loadTokenEndpoint(token, { ...options, seconds: settings.seconds });
  const { user, system } = process.cpuUsage(ownCpu);
  const cpuAfter = await cpuSecondsOf(target.child.process.pid!);
  if (target.child.hasExited()) throw new Error(`${target.name} died under load:\n${target.child.output()}`);
  const serverCpuMsPerToken = cpuBefore !== undefined && cpuAfter !== undefined && result.ok > 0 ? ((cpuAfter - cpuBefore) * 1000) / result.ok : undefined;
  // Warm-up failures count too: a failing target must not pass quietly.
  const merged = {
    ...result,
    non2xx: result.non2xx + warm.non2xx,
    errors: result.errors + warm.errors,
    timeouts: result.timeouts + warm.timeouts,
    serverCpuMsPerToken,
  };
  log(
    `round ${round} ${target.name.padEnd(14)} ${result.tokensPerSecond.toFixed(0).padStart(5)} tokens/s  ` +
      `p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  non-2xx ${merged.non2xx}  errors ${merged.errors}  ` +
      `server CPU ${serverCpuMsPerToken?.toFixed(2) ?? '?'} ms/token  ` +
      // autocannon runs in this process and competes with the server for the same two cores.
      `load generator CPU ${((user + system) / 1000 / Math.max(1, result.ok)).toFixed(2)} ms/token  statuses ${JSON.stringify(result.statusCodes)}`,
  );
  return merged;
}

/**
 * One more Gatehouse round, for the capacity note: what Postgres (the bench schema's tables) and
 * Redis (server-wide: keep it quiet) do per token. Not timed against anything.
 */
async function measureStorageOps(target: Target): Promise<StorageOpsPerToken> {
  const counter = await createStorageCounter({ databaseUrl: settings.databaseUrl, schema: target.schema!.schema, redisUrl: settings.redisUrl });
  try {
    const before = await counter.settled();
    const result = await loadTokenEndpoint(target.token, { connections: settings.connections, seconds: settings.seconds });
    const after = await counter.settled();
    const perToken = counter.perToken(before, after, result.ok);
    log(`storage per token (${result.ok} tokens): ${JSON.stringify(perToken)}`);
    return perToken;
  } finally {
    await counter.close();
  }
}

async function main(): Promise<number> {
  log(
    `${availableParallelism()} cores; ${settings.rounds} rounds of ${settings.warmupSeconds}+${settings.seconds} s per target, ${settings.connections} connections`,
  );
  const signing = await measureSigning({ seconds: settings.signSeconds });
  log(
    `signing (${signing.source}, one core): ${Object.entries(signing.perCpuSecond)
      .map(([a, r]) => `${a} ${r.toFixed(0)}/s`)
      .join(', ')}`,
  );

  const gatehouse = await startGatehouse('gatehouse', '1');
  const targets = [gatehouse, await startGatehouse('gatehouse-auto', 'auto'), await startBare(), await startPeer()];
  for (const t of targets) await checkToken(t);
  for (const [alg, token] of Object.entries(gatehouse.apis!)) await checkToken(gatehouse, token, alg, token.resource);

  const runs = new Map<string, Awaited<ReturnType<typeof measure>>[]>(targets.map((t) => [t.name, []]));
  // Alternate so that a noisy neighbour hurts every target alike; report medians.
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const t of targets) runs.get(t.name)!.push(await measure(t, round));
  }
  const summaries: TargetSummary[] = targets.map((t) => summarise(t.name, runs.get(t.name)!));

  // One client, one request at a time: alternating, the median of the rounds' p50s.
  const lone = new Map<string, number[]>();
  for (let round = 1; round <= 2; round += 1) {
    for (const t of [gatehouse, targets[3]!]) {
      const r = await oneConnectionLatency(t.token, settings.latencySeconds);
      if (r.non2xx > 0) throw new Error(`${t.name} answered ${r.non2xx} non-2xx at one connection`);
      log(`one connection ${t.name}: p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms (${r.requests} requests)`);
      lone.set(t.name, [...(lone.get(t.name) ?? []), r.p50Ms]);
    }
  }
  const latency = Object.fromEntries([...lone].map(([name, p50s]) => [name, median(p50s)]));

  // The other algorithms: one round each on the default start.
  const algs = [];
  for (const [alg, token] of Object.entries(gatehouse.apis!)) {
    algs.push({ alg: alg as 'ES256' | 'EdDSA', ...summarise(`gatehouse ${alg}`, [await measure(gatehouse, alg, token)]) });
  }

  const storage = await measureStorageOps(gatehouse);
  printReport({
    settings: { ...settings, databaseUrl: withoutPassword(settings.databaseUrl), redisUrl: withoutPassword(settings.redisUrl) },
    signing,
    summaries,
    latency,
    algs,
    storage,
  });

  const failed = [...summaries, ...algs].filter((s) => s.non2xx > 0 || s.errors > 0);
  for (const s of failed) log(`FAIL: ${s.name} answered ${s.non2xx} non-2xx responses and ${s.errors} errors/timeouts`);
  return failed.length ? 1 : 0;
}

function summarise(name: string, r: Awaited<ReturnType<typeof measure>>[]): TargetSummary {
  const cpu = r.map((x) => x.serverCpuMsPerToken).filter((x) => x !== undefined);
  return {
    name,
    tokensPerSecond: median(r.map((x) => x.tokensPerSecond)),
    p50Ms: median(r.map((x) => x.p50Ms)),
    p99Ms: median(r.map((x) => x.p99Ms)),
    serverCpuMsPerToken: cpu.length ? median(cpu) : undefined,
    non2xx: r.reduce((n, x) => n + x.non2xx, 0),
    errors: r.reduce((n, x) => n + x.errors + x.timeouts, 0),
    rounds: r.map((x) => Math.round(x.tokensPerSecond)),
  };
}

try {
  process.exitCode = await main();
} catch (err) {
  if (!interrupted) log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
