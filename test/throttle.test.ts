import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { authorizationUrl, walkPages } from './support/page-flow.ts';
import { testRedisUrl } from './support/test-env.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PASSWORD = 'the right passphrase';

async function registerApp(gh: TestGatehouse): Promise<oauth.Configuration> {
  const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'Throttle App', redirectUris: [REDIRECT_URI], scope: 'openid' });
  return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
    execute: [oauth.allowInsecureRequests],
  });
}

/** A login page of a fresh flow; `attempt` posts its form (again and again, as a user retrying). */
async function loginForm(config: oauth.Configuration) {
  const ua = createUserAgent();
  const { pages } = await walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' }), REDIRECT_URI, () => 'stop');
  const interaction = pages[0]!.url.href.replace(/\/$/, '');
  const uid = new URL(interaction).pathname.split('/')[2]!;
  return {
    uid,
    async attempt(email: string, password: string) {
      const started = performance.now();
      const res = await ua.postForm(`${interaction}/login`, { email, password });
      const body = await res.text();
      return { res, status: res.status, body, ms: performance.now() - started };
    },
  };
}

/** What an observer could compare between two answers: everything but the echoed email, the interaction (its id and CSRF token) and the clock. */
function comparable(answer: { res: Response; body: string }, email: string, uid: string) {
  const headers = [...answer.res.headers].filter(([name]) => !['date', 'content-length', 'x-request-id'].includes(name));
  const body = answer.body
    .replaceAll(email, 'EMAIL')
    .replaceAll(uid, 'UID')
    .replace(/name="csrf" value="[^"]+"/g, 'name="csrf" value="CSRF"');
  return { status: answer.res.status, headers, body };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const backends = [
  { name: 'Redis', useRedis: true, enabled: Boolean(testRedisUrl) },
  { name: 'Postgres (no Redis)', useRedis: false, enabled: true },
];

for (const backend of backends) {
  describe.runIf(backend.enabled)(`sign-in throttling, counters in ${backend.name}`, () => {
    // Two free failures per email, then a 1 s wait, and a 30 s block from the third; IPs 100× looser.
    const gh = useTestGatehouse(
      {
        LOGIN_THROTTLE_FREE_ATTEMPTS: '2',
        LOGIN_THROTTLE_BLOCK_AFTER: '3',
        LOGIN_THROTTLE_BLOCK_SECONDS: '30',
        LOGIN_THROTTLE_IP_FACTOR: '100',
      },
      { useRedis: backend.useRedis },
    );
    let config: oauth.Configuration;

    beforeAll(async () => {
      config = await registerApp(gh);
      await gh.services.accounts.registerAccount({ email: 'known@example.test', password: PASSWORD });
      await gh.services.accounts.registerAccount({ email: 'patient@example.test', password: PASSWORD });
    });

    it('makes an account wait after its free failures, refusing even the right password with 429 and Retry-After', async () => {
      const form = await loginForm(config);
      expect((await form.attempt('patient@example.test', 'wrong one')).status).toBe(401);
      expect((await form.attempt('patient@example.test', 'wrong two')).status).toBe(401);
      const refused = await form.attempt('patient@example.test', PASSWORD);
      expect(refused.status).toBe(429);
      expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.body).toContain('Too many attempts. Try again in');
      expect(refused.res.headers.get('location')).toBeNull();
      // Once the wait is over the right password signs in, and the count starts again.
      await vi.waitFor(async () => expect((await form.attempt('patient@example.test', PASSWORD)).status).toBe(303), { timeout: 5000, interval: 250 });
      const again = await loginForm(config);
      expect((await again.attempt('patient@example.test', 'wrong again')).status).toBe(401);
      expect((await again.attempt('patient@example.test', PASSWORD)).status).toBe(303);
    });

    it('blocks a known and an unknown email alike, with answers that cannot tell them apart', async () => {
      const run = async (email: string, password: string) => {
        const form = await loginForm(config);
        const answers = [await form.attempt(email, 'wrong one'), await form.attempt(email, 'wrong two')];
        // Wait out the delay, then the third failure starts the block.
        await vi.waitFor(async () => expect((await form.attempt(email, 'wrong three')).status).toBe(401), { timeout: 5000, interval: 250 });
        const blocked = await form.attempt(email, password);
        return { answers: [...answers, blocked].map((a) => comparable(a, email, form.uid)), blocked };
      };
      const known = await run('known@example.test', PASSWORD);
      const unknown = await run('nobody@example.test', PASSWORD);
      expect(known.blocked.status).toBe(429);
      expect(Number(known.blocked.res.headers.get('retry-after'))).toBeGreaterThan(20);
      expect(Number(known.blocked.res.headers.get('retry-after'))).toBeLessThanOrEqual(30);
      for (const a of [...known.answers, ...unknown.answers]) a.headers = a.headers.filter(([n]) => n !== 'retry-after');
      expect(unknown.answers).toEqual(known.answers);
    });
  });
}

for (const backend of backends) {
  describe.runIf(backend.enabled)(`concurrent attempts are counted and decided in one step, counters in ${backend.name}`, () => {
    // Three failures per email, twelve per IP, then a block long enough to outlast each burst.
    // The argon2 queue is made deep enough not to refuse anything here (that bound has its own test).
    const gh = useTestGatehouse(
      {
        LOGIN_THROTTLE_FREE_ATTEMPTS: '3',
        LOGIN_THROTTLE_BLOCK_AFTER: '3',
        LOGIN_THROTTLE_BLOCK_SECONDS: '60',
        LOGIN_THROTTLE_IP_FACTOR: '4',
        ARGON2_MAX_QUEUED: '1000',
      },
      { useRedis: backend.useRedis },
    );
    let config: oauth.Configuration;

    beforeAll(async () => {
      config = await registerApp(gh);
      await gh.services.accounts.registerAccount({ email: 'target@example.test', password: PASSWORD });
    });

    const tally = (statuses: number[]) =>
      statuses.reduce<Record<number, number>>((t, s) => {
        t[s] = (t[s] ?? 0) + 1;
        return t;
      }, {});

    it('checks only the allowance of 120 concurrent wrong passwords for one email; the rest get 429 unchecked', async () => {
      const form = await loginForm(config);
      const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => form.attempt('target@example.test', `guess ${i}`)));
      expect(tally(answers.map((a) => a.status))).toEqual({ 401: 3, 429: 117 });
      for (const refused of answers.filter((a) => a.status === 429)) expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it("checks only the IP's allowance of concurrent wrong passwords spread over many emails", async () => {
      const form = await loginForm(config);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => form.attempt(`sprayed${i}@example.test`, 'guess')));
      // Twelve per IP, less the three the burst above used up (refused attempts are not counted).
      expect(tally(answers.map((a) => a.status))).toEqual({ 401: 9, 429: 31 });
    });

    it('creates only the allowance of accounts from 130 concurrent sign-ups from one IP', async () => {
      const ua = createUserAgent();
      const { pages } = await walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' }), REDIRECT_URI, () => 'stop');
      const signup = `${pages[0]!.url.href.replace(/\/$/, '')}/signup`;
      const emails = Array.from({ length: 130 }, (_, i) => `bulk${i}@example.test`);
      const answers = await Promise.all(emails.map((email) => ua.postForm(signup, { name: 'Bulk', email, password: 'a fine long passphrase' })));
      expect(tally(answers.map((a) => a.status))).toEqual({ 303: 12, 429: 118 });
      const created = await gh.knex('accounts').whereIn('email', emails).count<{ count: string }[]>({ count: '*' });
      expect(Number(created[0]!.count)).toBe(12);
    });
  });
}

describe('a burst of password checks beyond the argon2 queue', () => {
  // One argon2 computation at a time and two waiting; no throttle in the way.
  const gh = useTestGatehouse({
    ARGON2_CONCURRENCY: '1',
    ARGON2_MAX_QUEUED: '2',
    LOGIN_THROTTLE_FREE_ATTEMPTS: '1000',
    LOGIN_THROTTLE_BLOCK_AFTER: '1000',
    LOGIN_THROTTLE_IP_FACTOR: '10',
  });
  let config: oauth.Configuration;
  const known = Array.from({ length: 15 }, (_, i) => `burst${i}@example.test`);

  beforeAll(async () => {
    config = await registerApp(gh);
    for (const email of known) await gh.services.accounts.registerAccount({ email, password: PASSWORD });
  });

  it('answers what does not fit with 503, Retry-After and the sign-in page, alike for known and unknown emails', async () => {
    const attempts = [...known.map((email) => ({ email, isKnown: true })), ...known.map((_, i) => ({ email: `nobody${i}@example.test`, isKnown: false }))];
    const forms = await Promise.all(attempts.map(() => loginForm(config)));
    const answers = await Promise.all(
      attempts.map(async (a, i) => ({ ...a, uid: forms[i]!.uid, answer: await forms[i]!.attempt(a.email, 'not the password') })),
    );
    const busy = answers.filter((a) => a.answer.status === 503);
    expect(answers.every((a) => [401, 503].includes(a.answer.status))).toBe(true);
    // 30 at once, room for 3 at a time: most are turned away without any argon2 work.
    expect(busy.length).toBeGreaterThanOrEqual(15);
    for (const { answer } of busy) {
      expect(answer.res.headers.get('retry-after')).toBe('1');
      expect(answer.body).toContain('name="password"'); // the sign-in form, to try again
    }
    const knownBusy = busy.find((a) => a.isKnown)!;
    const unknownBusy = busy.find((a) => !a.isKnown)!;
    expect(comparable(unknownBusy.answer, unknownBusy.email, unknownBusy.uid)).toEqual(comparable(knownBusy.answer, knownBusy.email, knownBusy.uid));
    // Refused before any check: the right password still works right after.
    const form = await loginForm(config);
    expect((await form.attempt(known[0]!, PASSWORD)).status).toBe(303);
  });

  it('answers a burst of sign-ups beyond the queue with 503 and Retry-After, creating only the accounts it hashed', async () => {
    const ua = createUserAgent();
    const { pages } = await walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' }), REDIRECT_URI, () => 'stop');
    const signup = `${pages[0]!.url.href.replace(/\/$/, '')}/signup`;
    const emails = Array.from({ length: 20 }, (_, i) => `rush${i}@example.test`);
    const answers = await Promise.all(emails.map((email) => ua.postForm(signup, { email, password: 'a fine long passphrase' })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 303 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(10);
    for (const busy of answers.filter((a) => a.status === 503)) {
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(await busy.text()).toContain('busy');
    }
    const created = await gh.knex('accounts').whereIn('email', emails).count<{ count: string }[]>({ count: '*' });
    expect(Number(created[0]!.count)).toBe(statuses.filter((s) => s === 303).length);
  });
});

describe('sign-in answers for unknown and known emails', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;
  const accounts = Array.from({ length: 5 }, (_, i) => `member${i}@example.test`);

  beforeAll(async () => {
    config = await registerApp(gh);
    for (const email of accounts) await gh.services.accounts.registerAccount({ email, password: PASSWORD });
  });

  it('answers a wrong password and an unknown email with the same status, headers and page, in comparable time', async () => {
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    let first: { known: ReturnType<typeof comparable>; unknown: ReturnType<typeof comparable> } | undefined;
    // Interleaved, so that a noisy neighbour slows both alike; one failure per email (no throttle).
    for (const [i, email] of accounts.entries()) {
      const knownForm = await loginForm(config);
      const known = await knownForm.attempt(email, 'not the password');
      const unknownEmail = `stranger${i}@example.test`;
      const unknownForm = await loginForm(config);
      const unknown = await unknownForm.attempt(unknownEmail, 'not the password');
      knownMs.push(known.ms);
      unknownMs.push(unknown.ms);
      first ??= { known: comparable(known, email, knownForm.uid), unknown: comparable(unknown, unknownEmail, unknownForm.uid) };
    }
    expect(first!.known.status).toBe(401);
    expect(first!.unknown).toEqual(first!.known);
    // Both verify an argon2 hash (a dummy one for the unknown email): the medians stay close.
    const ratio = median(unknownMs) / median(knownMs);
    expect(ratio, `unknown ${median(unknownMs).toFixed(1)} ms vs known ${median(knownMs).toFixed(1)} ms`).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe('throttling per client IP', () => {
  // Per email: 3 free failures; per IP twice that (6), then waits; sign-ups count every attempt.
  const gh = useTestGatehouse({
    LOGIN_THROTTLE_FREE_ATTEMPTS: '3',
    LOGIN_THROTTLE_BLOCK_AFTER: '5',
    LOGIN_THROTTLE_BLOCK_SECONDS: '60',
    LOGIN_THROTTLE_IP_FACTOR: '2',
  });
  let config: oauth.Configuration;

  beforeAll(async () => {
    config = await registerApp(gh);
  });

  it('makes an IP wait after failures spread over many emails, each below its own limit', async () => {
    const form = await loginForm(config);
    for (let i = 0; i < 6; i += 1) expect((await form.attempt(`spray${i}@example.test`, 'guess')).status).toBe(401);
    const refused = await form.attempt('fresh@example.test', 'guess');
    expect(refused.status).toBe(429);
    expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('throttles sign-ups per IP, counting every attempt', async () => {
    // The IP's sign-up count is separate from its sign-in count: six free, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const ua = createUserAgent();
      const { pages } = await walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' }), REDIRECT_URI, () => 'stop');
      const signup = await ua.postForm(`${pages[0]!.url.href.replace(/\/$/, '')}/signup`, { name: 'N', email: `new${i}@example.test`, password: 'short' });
      statuses.push(signup.status);
      if (signup.status === 429) {
        expect(Number(signup.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(await signup.text()).toContain('Too many attempts');
      }
    }
    expect(statuses.slice(0, 6)).toEqual([400, 400, 400, 400, 400, 400]);
    expect(statuses[6]).toBe(429);
  });
});
