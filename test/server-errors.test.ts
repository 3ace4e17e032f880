import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canStartOwnPostgres, type OwnPostgres, type OwnRedis, startOwnPostgres, startOwnRedis } from './support/own-services.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.errors.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

type Answer = { status: number; type: string; body: string; requestId: string | null };

/** The sum of one counter over the samples whose labels match (Prometheus text format). */
function counterSum(text: string, name: string, match: (labels: string) => boolean): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (match(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * A server error must be visible: the client gets a 5xx (OAuth error JSON on protocol endpoints,
 * a page on browser endpoints), and the request log and /metrics record that very status. Storage
 * really fails under the request: Postgres and Redis of the test's own are stopped.
 */
describe.runIf(canStartOwnPostgres())('server errors while Postgres or Redis is down', { timeout: 120_000 }, () => {
  const storage = newStorage({ useRedis: true });
  let pg: OwnPostgres;
  let redis: OwnRedis;
  let gh: TestGatehouse;
  let app: { id: string; secret: string };
  const answers: Answer[] = [];

  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${gh.issuer}${path}`, { redirect: 'manual', ...init });
    const answer = { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), requestId: res.headers.get('x-request-id') };
    answers.push(answer);
    return answer;
  };
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' };
  const authorize = (clientId: string) =>
    call(
      `/auth?${new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 'st',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      })}`,
      { headers: { accept: 'text/html' } },
    );

  /** The request's own log line (by its X-Request-Id) has the status the client got, and a route name. */
  const expectLoggedAsAnswered = (answer: Answer, route: string) => {
    const line = gh.logs().find((l) => l.msg === 'request' && l.requestId === answer.requestId);
    expect(line, `log line of ${answer.requestId}`).toMatchObject({ status: answer.status, route });
  };
  const expectProtocolServerError = (answer: Answer) => {
    expectLoggedAsAnswered(answer, 'token');
    expect(answer.status, answer.body.slice(0, 300)).toBe(500);
    expect(answer.type).toContain('application/json');
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'server_error' });
  };
  const expectServerErrorPage = (answer: Answer) => {
    expectLoggedAsAnswered(answer, 'authorization');
    expect(answer.status, answer.body.slice(0, 300)).toBe(500);
    expect(answer.type).toContain('text/html');
  };

  beforeAll(async () => {
    pg = await startOwnPostgres();
    redis = await startOwnRedis();
    gh = await startTestGatehouse(storage, { DATABASE_URL: pg.url, REDIS_URL: redis.url });
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Web app',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
    });
    app = { id: client.client_id, secret: clientSecret! };
    // Known and cached: its requests get as far as storage.
    expect((await authorize(app.id)).status).toBe(303);
  });
  afterAll(async () => {
    await gh?.stop();
    await redis?.destroy();
    await pg?.destroy();
    await dropStorage(storage);
  });

  it('with Redis down: a token request answers 500 server_error JSON to Accept: */*, and /auth a 500 page', async () => {
    await redis.kill();
    try {
      // Authorization codes live in Redis: looking one up fails. (Refresh tokens no longer touch Redis.)
      const code = new URLSearchParams({ grant_type: 'authorization_code', code: 'some-code', redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43) });
      expectProtocolServerError(
        await call('/token', { method: 'POST', headers: { ...form, authorization: basic(app.id, app.secret) }, body: code.toString() }),
      );
      // Saving the interaction fails.
      expectServerErrorPage(await authorize(app.id));
    } finally {
      await redis.start();
    }
  });

  it('with Postgres down: an unknown client at /token gets 500 server_error JSON, and at /auth a 500 page', async () => {
    await pg.stopImmediate();
    try {
      expectProtocolServerError(
        await call('/token', { method: 'POST', headers: { ...form, authorization: basic('never-seen', 'x') }, body: 'grant_type=client_credentials' }),
      );
      expectServerErrorPage(await authorize('never-seen-either'));
    } finally {
      await pg.start();
    }
  });

  it('logs and counts every answer with the status the client got', async () => {
    const errors = answers.filter((a) => a.status >= 500);
    expect(errors.length).toBe(4);
    const logged = new Map(
      gh
        .logs()
        .filter((l) => l.msg === 'request')
        .map((l) => [l.requestId as string, l]),
    );
    for (const answer of answers) {
      expect(answer.requestId).toBeTruthy();
      expect(logged.get(answer.requestId!), `log line of ${answer.requestId}`).toMatchObject({ status: answer.status });
    }
    const routes = [...logged.values()].filter((l) => (l.status as number) >= 500).map((l) => l.route);
    expect(routes.sort()).toEqual(['authorization', 'authorization', 'token', 'token']);

    const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
    expect(counterSum(metrics, 'gatehouse_http_requests_total', (labels) => /status="5\d\d"/.test(labels))).toBe(errors.length);
    expect(counterSum(metrics, 'gatehouse_http_requests_total', (labels) => labels.includes('route="token"') && labels.includes('status="500"'))).toBe(2);
  });
});
