// Part of `npm run bench`: refresh-token rotation (RFC 6749 §6) on Gatehouse (WORKERS=1, Postgres
// and Redis, the refresh grace window on: its default) against a bare oidc-provider on Redis
// (bench/bare-refresh-provider.ts), alternating rounds in one run. Both answer with a rotated
// refresh token, an RS256 JWT access token for one API and an ID token. Each load connection keeps
// its own chain; seeds come from real sign-ins (Gatehouse) and from the provider's models (bare).
//
// Environment: as bench/token-endpoint.ts (BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_WARMUP_SECONDS,
// BENCH_ROUNDS, database and Redis URLs).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash } from '@node-rs/bcrypt';
import * as oauth from 'openid-client';
import { walkPages } from '../test/support/page-flow.ts';
import { createUserAgent } from '../test/support/user-agent.ts';
import { createBenchSchema } from './bench-schema.ts';
import { type LoadResult, loadRefresh } from './load.ts';
import { type Child, freePort, runNode, startNode, stopChild, waitForHttp } from './processes.ts';
import { cpuSecondsOf, median } from './report.ts';

const env = process.env;
const databaseUrl = env.TEST_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = env.TEST_REDIS_URL || env.REDIS_URL || 'redis://127.0.0.1:6379';
const connections = Number(env.BENCH_CONNECTIONS ?? 50);
const seconds = Number(env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(env.BENCH_WARMUP_SECONDS ?? 2);
const rounds = Math.max(2, Number(env.BENCH_ROUNDS ?? 3));
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin/gatehouse.js');
const API = 'https://api.refresh.bench';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const log = (line: string) => process.stderr.write(`${line}\n`);
// A seed per connection for every load (warm-ups included); each chain refills the pool as it rotates.
const seedCount = connections * rounds * 2;

type Target = { name: string; child: Child; url: string; clientId: string; clientSecret: string; seeds: string[] };
const cleanups: (() => Promise<unknown>)[] = [];

async function startGatehouse(): Promise<Target> {
  const schema = await createBenchSchema(databaseUrl);
  cleanups.push(() => schema.drop());
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const serverEnv = {
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    DATABASE_URL: schema.url,
    REDIS_URL: redisUrl,
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    TOKEN_RATE_LIMIT_PER_SECOND: '1000000',
    AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '1000000', // the seeding sign-ins all come from this address
  };
  const runCli = async (...args: string[]) => JSON.parse(await runNode([cli, ...args, '--json'], serverEnv));
  await runCli('resources', 'create', '--identifier', API, '--scope', 'read');
  const client = (await runCli(
    'clients',
    'create',
    '--name',
    'refresh bench',
    '--redirect-uri',
    REDIRECT_URI,
    '--grant-type',
    'authorization_code',
    '--grant-type',
    'refresh_token',
    '--scope',
    'openid offline_access read',
    '--resource',
    API,
  )) as { client_id: string; client_secret: string };
  // One user per chain: a refresh-token family is a grant (one user, one app), and concurrent
  // refreshes in one grant are not what a client does. Imported with one bcrypt hash (users import).
  const password = 'a passphrase for the refresh bench';
  const passwordHash = await hash(password, 4);
  const users = Array.from({ length: seedCount }, (_, i) => ({ email: `user${i}@refresh.bench`, password }));
  const file = join(dataDir, 'users.jsonl');
  await writeFile(file, users.map((u) => JSON.stringify({ email: u.email, email_verified: true, password_hash: passwordHash })).join('\n'));
  await runNode([cli, 'users', 'import', '--file', file, '--json'], serverEnv, 120_000);
  const child = startNode('gatehouse', [cli, 'serve'], serverEnv);
  cleanups.push(() => stopChild(child));
  await waitForHttp(`${issuer}/healthz`, child);

  // Real sign-ins (login + consent + code exchange), as a user's app would get its refresh tokens.
  const config = await oauth.discovery(new URL(issuer), client.client_id, undefined, oauth.ClientSecretBasic(client.client_secret), {
    execute: [oauth.allowInsecureRequests],
  });
  const seeds: string[] = [];
  for (const user of users) {
    const verifier = oauth.randomPKCECodeVerifier();
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access read',
      prompt: 'consent',
      resource: API,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { callback } = await walkPages(createUserAgent(), url, REDIRECT_URI, (page) =>
      page.kind === 'login' ? { post: 'login', fields: { email: user.email, password: user.password } } : { post: 'confirm' },
    );
    seeds.push((await oauth.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier }, { resource: API })).refresh_token!);
  }
  return { name: 'gatehouse', child, url: `${issuer}/token`, clientId: client.client_id, clientSecret: client.client_secret, seeds };
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const child = startNode('bare oidc-provider + Redis', [join(root, 'bench/bare-refresh-provider.ts')], {
    PORT: String(port),
    BENCH_CLIENT_ID: clientId,
    BENCH_CLIENT_SECRET: clientSecret,
    BENCH_API: API,
    REDIS_URL: redisUrl,
    BENCH_REFRESH_TOKENS: String(seedCount),
  });
  cleanups.push(() => stopChild(child));
  await waitForHttp(`http://127.0.0.1:${port}/.well-known/openid-configuration`, child);
  const line = child
    .output()
    .split('\n')
    .find((l) => l.includes('"refreshTokens"'));
  if (!line) throw new Error(`bare provider printed no refresh tokens:\n${child.output()}`);
  return {
    name: 'bare+redis',
    child,
    url: `http://127.0.0.1:${port}/token`,
    clientId,
    clientSecret,
    seeds: (JSON.parse(line) as { refreshTokens: string[] }).refreshTokens,
  };
}

/** Each round takes fresh seeds: a chain left at the end of a round is not reused. */
async function measure(t: Target, round: number): Promise<LoadResult & { cpuMsPerToken?: number }> {
  const take = () => t.seeds.splice(0, connections);
  const warm = await loadRefresh({ ...t, tokens: take() }, { connections, seconds: warmupSeconds });
  const before = await cpuSecondsOf(t.child.process.pid!);
  const r = await loadRefresh({ ...t, tokens: take() }, { connections, seconds });
  const after = await cpuSecondsOf(t.child.process.pid!);
  const cpuMsPerToken = before !== undefined && after !== undefined && r.ok ? ((after - before) * 1000) / r.ok : undefined;
  log(
    `round ${round} ${t.name.padEnd(10)} ${r.tokensPerSecond.toFixed(0).padStart(5)} refreshes/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  non-2xx ${r.non2xx + warm.non2xx}  errors ${r.errors + warm.errors}  server CPU ${cpuMsPerToken?.toFixed(2) ?? '?'} ms/refresh  statuses ${JSON.stringify(r.statusCodes)}`,
  );
  return { ...r, non2xx: r.non2xx + warm.non2xx, errors: r.errors + warm.errors, cpuMsPerToken };
}

try {
  log(`refresh grant: ${rounds} rounds of ${warmupSeconds}+${seconds} s, ${connections} connections; seeding ${seedCount} refresh tokens per target`);
  const targets = [await startGatehouse(), await startBare()];
  const runs = new Map<string, Awaited<ReturnType<typeof measure>>[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= rounds; round += 1) for (const t of targets) runs.get(t.name)!.push(await measure(t, round));
  const summary = Object.fromEntries(
    [...runs].map(([name, r]) => [
      name,
      {
        refreshesPerSecond: median(r.map((x) => x.tokensPerSecond)),
        p50Ms: median(r.map((x) => x.p50Ms)),
        serverCpuMsPerRefresh: median(r.map((x) => x.cpuMsPerToken ?? Number.NaN)),
        non2xx: r.reduce((n, x) => n + x.non2xx, 0),
        errors: r.reduce((n, x) => n + x.errors + x.timeouts, 0),
        rounds: r.map((x) => Math.round(x.tokensPerSecond)),
      },
    ]),
  );
  const g = summary.gatehouse!;
  const b = summary['bare+redis']!;
  const ratio = g.refreshesPerSecond / b.refreshesPerSecond;
  process.stdout.write(
    [
      '',
      `Refresh grant, ${connections} connections (medians of ${rounds} alternating rounds; refresh token + RS256 access token + ID token each)`,
      ...Object.entries(summary).map(
        ([name, s]) =>
          `  ${name.padEnd(10)} ${s.refreshesPerSecond.toFixed(0).padStart(6)} refreshes/s  p50 ${s.p50Ms} ms  server CPU ${s.serverCpuMsPerRefresh.toFixed(2)} ms/refresh  non-2xx ${s.non2xx}  errors ${s.errors}  rounds ${s.rounds.join(' / ')}`,
      ),
      `  gatehouse (Postgres + Redis, grace window on) / bare oidc-provider + Redis: ${(ratio * 100).toFixed(0)} % (goal >= 100 %: ${ratio >= 1 ? 'met' : 'NOT met'})`,
      JSON.stringify({ refresh: summary, ratio }),
      '',
    ].join('\n'),
  );
  if (Object.values(summary).some((s) => s.non2xx > 0 || s.errors > 0)) process.exitCode = 1;
} catch (err) {
  log(`refresh bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn().catch((err: Error) => log(`cleanup: ${err.message}`));
}
