// `node bench/flow-storage.ts` (part of `npm run bench`): what Postgres and Redis see for a user's
// sign-in (login + consent + code exchange) and for each refresh-token rotation, for the capacity
// note. Gatehouse runs in this process on a schema and a Redis prefix of its own. Redis is counted
// server-wide: run it on a quiet server.
//
// Environment: TEST_DATABASE_URL or DATABASE_URL, TEST_REDIS_URL or REDIS_URL (the local servers by
// default), BENCH_FLOW_USERS (20), BENCH_FLOW_REFRESHES (10 per user).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'openid-client';
import pino from 'pino';
import { createGatehouse } from '../src/app.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { deleteByPrefix } from '../src/redis/delete-by-prefix.ts';
import { walkPages } from '../test/support/page-flow.ts';
import { createUserAgent } from '../test/support/user-agent.ts';
import { createStorageCounter, type StorageCounts } from './storage-ops.ts';

const env = process.env;
const databaseUrl = env.TEST_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = env.TEST_REDIS_URL || env.REDIS_URL || 'redis://127.0.0.1:6379';
const users = Number(env.BENCH_FLOW_USERS ?? 20);
const refreshes = Number(env.BENCH_FLOW_REFRESHES ?? 10);
const API = 'https://api.flow.bench';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const log = (line: string) => process.stderr.write(`${line}\n`);

const server = createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const schema = `bench_flow_${randomBytes(4).toString('hex')}`;
const redisPrefix = `bench:${schema}:`;
const gatehouse = await createGatehouse(
  loadConfig({
    NODE_ENV: 'development',
    ISSUER: issuer,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    GATEHOUSE_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
  }),
  { schema, redisKeyPrefix: redisPrefix, logger: pino({ level: 'warn' }) },
);
server.on('request', gatehouse.callback);
const counter = await createStorageCounter({ databaseUrl, schema, redisUrl });

try {
  await gatehouse.services.resources.createResource({ identifier: API, scope: 'read' });
  const { client, clientSecret } = await gatehouse.services.clients.registerClient({
    name: 'Flow bench',
    redirectUris: [REDIRECT_URI],
    scope: 'openid offline_access read',
    resources: [API],
  });
  const config = await oauth.discovery(new URL(issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
    execute: [oauth.allowInsecureRequests],
  });
  const accounts: { email: string; password: string }[] = [];
  for (let i = 0; i < users; i += 1) {
    const user = { email: `user${i}@flow.bench`, password: `passphrase number ${i} for the bench` };
    await gatehouse.services.accounts.registerAccount(user);
    accounts.push(user);
  }

  const phase = async (name: string, count: number, run: () => Promise<void>) => {
    const before = await counter.settled();
    await run();
    const after = await counter.settled();
    const per = (key: keyof StorageCounts) => ((after[key] - before[key]) / count).toFixed(1);
    const line = {
      phase: name,
      count,
      postgresTableScans: per('postgresReads'),
      postgresRowsWritten: per('postgresRowsWritten'),
      redisCommands: per('redisCommands'),
    };
    log(`${name}: ${JSON.stringify(line)}`);
    return line;
  };

  const refreshTokens: string[] = [];
  const signIns = await phase('sign-in (login + consent + code exchange)', users, async () => {
    for (const user of accounts) {
      const verifier = oauth.randomPKCECodeVerifier();
      const url = oauth.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid offline_access read',
        prompt: 'consent',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const { callback } = await walkPages(createUserAgent(), url, REDIRECT_URI, (page) =>
        page.kind === 'login' ? { post: 'login', fields: user } : { post: 'confirm' },
      );
      const tokens = await oauth.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier });
      refreshTokens.push(tokens.refresh_token!);
    }
  });
  const rotations = await phase('refresh-token rotation', users * refreshes, async () => {
    for (let round = 0; round < refreshes; round += 1) {
      for (let i = 0; i < refreshTokens.length; i += 1) {
        refreshTokens[i] = (await oauth.refreshTokenGrant(config, refreshTokens[i]!)).refresh_token!;
      }
    }
  });
  const kept = await rowsKeptPerChain(users);
  log(`rows kept per refresh chain after ${refreshes} rotations: ${JSON.stringify(kept)}`);
  process.stdout.write(`${JSON.stringify({ storagePerFlow: [signIns, rotations], rowsPerRefreshChain: kept })}\n`);
} finally {
  await counter.close();
  server.close();
  await gatehouse.knex.raw('drop schema if exists ?? cascade', [schema]);
  await gatehouse.close();
  await unlinkPrefix(redisPrefix);
}

/**
 * What stays in Postgres per refresh chain once the rotations are done: oidc-provider's refresh-token
 * rows (the live one; a spent one is deleted as it rotates) and the spent tokens' tombstones (kept
 * until each spent token's own expiry, to detect reuse), with their average size: a tombstone's
 * without its sealed answer, which the sweeper clears once the grace window has passed.
 */
async function rowsKeptPerChain(chains: number) {
  const { rows } = await gatehouse.knex.raw<{
    rows: { tokens: number; token_bytes: number | null; tombstones: number; tombstone_bytes: number | null; answer_bytes: number | null }[];
  }>(
    `select (select count(*)::int from oidc_payloads where model = 'RefreshToken') as tokens,
            (select avg(pg_column_size(p.*))::int from oidc_payloads p where model = 'RefreshToken') as token_bytes,
            (select count(*)::int from refresh_token_rotations) as tombstones,
            (select avg(pg_column_size(r.*) - coalesce(pg_column_size(r.answer), 0))::int from refresh_token_rotations r) as tombstone_bytes,
            (select avg(pg_column_size(r.answer))::int from refresh_token_rotations r) as answer_bytes`,
  );
  const row = rows[0]!;
  return {
    refreshTokenRows: row.tokens / chains,
    refreshTokenRowBytes: row.token_bytes,
    tombstoneRows: row.tombstones / chains,
    tombstoneBytes: row.tombstone_bytes,
    answerBytesWhileInWindow: row.answer_bytes,
  };
}

function unlinkPrefix(prefix: string): Promise<void> {
  return deleteByPrefix(redisUrl, prefix);
}
