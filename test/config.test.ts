import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';

const SECRET = 'a-production-secret-of-at-least-32-chars';
// Production requires an SMTP server; tests of other production rules bring one.
const SMTP_URL = 'smtps://gatehouse:mail-password@smtp.example.com:465';

/** The ConfigError's problems, or a failure if the environment was accepted. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('runs with zero setup: port 3000, a localhost issuer, embedded database, no Redis, one worker', () => {
    expect(loadConfig({})).toMatchObject({
      isProduction: false,
      port: 3000,
      host: '0.0.0.0',
      issuer: 'http://localhost:3000',
      databaseUrl: undefined,
      redis: undefined,
      dataDir: './data',
      secret: undefined,
      trustProxy: undefined,
      workers: 1,
      logLevel: 'info',
    });
  });

  it('derives the default issuer from PORT and drops a trailing slash from an explicit one', () => {
    expect(loadConfig({ PORT: '8080' }).issuer).toBe('http://localhost:8080');
    expect(loadConfig({ ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'localhost:5432'],
    ['WORKERS', '0'],
    ['WORKERS', 'many'],
    ['WORKERS', '1.5'],
    ['ISSUER', 'ftp://id.example.com'],
    ['TRUST_PROXY', 'maybe'],
  ])('refuses %s=%s and names the key', (key, value) => {
    const problems = problemsOf({ [key]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${key}\\b`));
  });

  it('names every invalid key at once, not just the first', () => {
    const problems = problemsOf({ PORT: 'x', REDIS_URL: 'http://x', WORKERS: 'none' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['PORT', 'REDIS_URL', 'WORKERS']);
  });

  it('accepts postgres://, postgresql://, redis:// and rediss:// URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/gh' }).databaseUrl).toBe('postgres://u:p@db:5432/gh');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/gh' }).databaseUrl).toBe('postgresql://db/gh');
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).redis).toEqual({ kind: 'single', url: 'redis://cache:6379' });
    expect(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redis).toEqual({ kind: 'single', url: 'rediss://cache:6380' });
  });

  it('refuses NODE_ENV=production without GATEHOUSE_SECRET', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', SMTP_URL });
    expect(problems).toEqual([expect.stringMatching(/^GATEHOUSE_SECRET .*required/)]);
  });

  it('refuses a production http:// issuer unless TLS is terminated by a trusted proxy', () => {
    const production = { NODE_ENV: 'production', GATEHOUSE_SECRET: SECRET, SMTP_URL };
    expect(problemsOf({ ...production, ISSUER: 'http://id.example.com' })).toEqual([expect.stringMatching(/^ISSUER .*https/)]);
    // No ISSUER means http://localhost:PORT, which is refused just the same.
    expect(problemsOf(production)).toEqual([expect.stringMatching(/^ISSUER /)]);

    const proxied = loadConfig({ ...production, ISSUER: 'http://id.example.com', TRUST_PROXY: '1' });
    expect(proxied).toMatchObject({ isProduction: true, trustProxy: { hops: 1 }, issuer: 'http://id.example.com' });
    expect(loadConfig({ ...production, ISSUER: 'http://id.example.com', TRUST_PROXY: '10.0.0.0/8' }).trustProxy).toEqual({ addresses: ['10.0.0.0/8'] });
    expect(problemsOf({ ...production, ISSUER: 'http://id.example.com', TRUST_PROXY: '0' })).toEqual([expect.stringMatching(/^ISSUER .*https/)]);
    expect(loadConfig({ ...production, ISSUER: 'https://id.example.com' })).toMatchObject({ isProduction: true, secret: SECRET });
  });

  it('allows an http:// issuer and no secret outside production', () => {
    expect(loadConfig({ NODE_ENV: 'development', ISSUER: 'http://id.example.com' }).secret).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test' }).isProduction).toBe(false);
  });

  it('refuses a GATEHOUSE_SECRET shorter than 32 characters, in any environment', () => {
    expect(problemsOf({ GATEHOUSE_SECRET: 'short' })).toEqual([expect.stringMatching(/^GATEHOUSE_SECRET .*32/)]);
    expect(problemsOf({ GATEHOUSE_SECRET: 'x'.repeat(31) })).toHaveLength(1);
    expect(loadConfig({ GATEHOUSE_SECRET: 'x'.repeat(32) }).secret).toBe('x'.repeat(32));
  });

  it('treats empty strings as unset, so FOO= means the default', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', REDIS_URL: '', WORKERS: '', GATEHOUSE_SECRET: '', ISSUER: '', TRUST_PROXY: '' })).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redis: undefined,
      workers: 1,
      secret: undefined,
      issuer: 'http://localhost:3000',
      trustProxy: undefined,
    });
    // An empty secret in production is a missing secret, not a short one.
    expect(problemsOf({ NODE_ENV: 'production', GATEHOUSE_SECRET: '', ISSUER: 'https://id.example.com', SMTP_URL })).toEqual([
      expect.stringMatching(/^GATEHOUSE_SECRET .*required/),
    ]);
  });

  it('keeps devices and self-registration off by default, and reads REGISTRATION and its open policy', () => {
    expect(loadConfig({}).selfService).toEqual({
      isDeviceFlowOn: false,
      registration: 'off',
      openApis: [],
      openRegistrationsPerHour: 10,
      isClientIdMetadataDocumentOn: false,
    });
    expect(
      loadConfig({
        DEVICE_FLOW: 'true',
        REGISTRATION: 'open',
        REGISTRATION_OPEN_APIS: 'https://mcp.example.com/mcp, http://127.0.0.1:8080',
        REGISTRATION_OPEN_PER_HOUR: '3',
        CLIENT_ID_METADATA_DOCUMENTS: 'true',
      }).selfService,
    ).toEqual({
      isDeviceFlowOn: true,
      registration: 'open',
      openApis: ['https://mcp.example.com/mcp', 'http://127.0.0.1:8080'],
      openRegistrationsPerHour: 3,
      isClientIdMetadataDocumentOn: true,
    });
    expect(problemsOf({ REGISTRATION: 'yes' })).toEqual([expect.stringMatching(/^REGISTRATION /)]);
    expect(problemsOf({ REGISTRATION_OPEN_APIS: 'http://api.example.com' })).toEqual([expect.stringMatching(/^REGISTRATION_OPEN_APIS .*https/)]);
    expect(problemsOf({ REGISTRATION_OPEN_PER_HOUR: '0' })).toEqual([expect.stringMatching(/^REGISTRATION_OPEN_PER_HOUR /)]);
  });

  it('accepts WORKERS=auto and a number of workers', () => {
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe('auto');
    expect(loadConfig({ WORKERS: '4' }).workers).toBe(4);
  });

  it('reads TRUST_PROXY as a number of proxy hops or as proxy addresses, and false/0/no as none', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toEqual({ hops: 1 });
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5,fd00::/8' }).trustProxy).toEqual({ addresses: ['10.0.0.0/8', '192.168.1.5', 'fd00::/8'] });
    expect(loadConfig({ TRUST_PROXY: 'loopback,uniquelocal' }).trustProxy).toEqual({ addresses: ['loopback', 'uniquelocal'] });
    for (const no of ['false', '0', 'no']) expect(loadConfig({ TRUST_PROXY: no }).trustProxy).toBeUndefined();
    for (const bad of ['10.0.0.0/33', '300.1.1.1', '10.0.0.1,', '17'])
      expect(problemsOf({ TRUST_PROXY: bad }), bad).toEqual([expect.stringMatching(/^TRUST_PROXY /)]);
  });

  it('refuses the old TRUST_PROXY=true (it trusted what the client wrote) and says what to set instead', () => {
    for (const old of ['true', 'yes', 'TRUE']) {
      expect(problemsOf({ TRUST_PROXY: old })).toEqual([expect.stringMatching(/^TRUST_PROXY .*number of proxies.*TRUST_PROXY=1.*addresses/)]);
    }
  });

  it('bounds argon2 per process: by default its share of the cores and eight waiting each; both settable', () => {
    const cores = availableParallelism();
    expect(loadConfig({}).argon2).toEqual({ maxConcurrent: cores, maxQueued: 8 * cores });
    expect(loadConfig({ WORKERS: 'auto' }).argon2).toEqual({ maxConcurrent: 1, maxQueued: 8 });
    expect(loadConfig({ WORKERS: String(cores * 4) }).argon2.maxConcurrent).toBe(1);
    expect(loadConfig({ ARGON2_CONCURRENCY: '3', ARGON2_MAX_QUEUED: '0' }).argon2).toEqual({ maxConcurrent: 3, maxQueued: 0 });
    expect(loadConfig({ ARGON2_CONCURRENCY: '3' }).argon2).toEqual({ maxConcurrent: 3, maxQueued: 24 });
    for (const [key, bad] of [
      ['ARGON2_CONCURRENCY', '0'],
      ['ARGON2_CONCURRENCY', 'lots'],
      ['ARGON2_MAX_QUEUED', '-1'],
    ]) {
      expect(problemsOf({ [key!]: bad }), `${key}=${bad}`).toEqual([expect.stringMatching(new RegExp(`^${key}\\b`))]);
    }
  });

  it('enables sign-up by default; SIGNUP_ENABLED=false turns it off; anything else is refused', () => {
    expect(loadConfig({}).isSignupEnabled).toBe(true);
    expect(loadConfig({ SIGNUP_ENABLED: 'false' }).isSignupEnabled).toBe(false);
    expect(loadConfig({ SIGNUP_ENABLED: '0' }).isSignupEnabled).toBe(false);
    expect(problemsOf({ SIGNUP_ENABLED: 'off' })).toEqual([expect.stringMatching(/^SIGNUP_ENABLED\b/)]);
  });

  it('never puts the secret in the error message', () => {
    const secret = 'x'.repeat(20);
    try {
      loadConfig({ GATEHOUSE_SECRET: secret, PORT: 'bad' });
      throw new Error('accepted');
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});

describe('loadConfig: email', () => {
  const production = { NODE_ENV: 'production', GATEHOUSE_SECRET: SECRET, ISSUER: 'https://id.example.com' };

  it('without SMTP_URL uses the outbox, from no-reply at the issuer host', () => {
    expect(loadConfig({}).mail).toEqual({ smtpUrl: undefined, from: 'Gatehouse <no-reply@localhost>' });
    expect(loadConfig({ ISSUER: 'https://id.example.com/' }).mail.from).toBe('Gatehouse <no-reply@id.example.com>');
    expect(Object.isFrozen(loadConfig({}).mail)).toBe(true);
  });

  it('accepts smtp:// and smtps:// URLs with credentials, and a MAIL_FROM address', () => {
    expect(loadConfig({ SMTP_URL: 'smtp://mail.internal:25' }).mail.smtpUrl).toBe('smtp://mail.internal:25');
    expect(loadConfig({ SMTP_URL }).mail.smtpUrl).toBe(SMTP_URL);
    expect(loadConfig({ SMTP_URL: 'smtps://u%40corp:p%2Fss@mail.example.com' }).mail.smtpUrl).toBe('smtps://u%40corp:p%2Fss@mail.example.com');
    expect(loadConfig({ MAIL_FROM: 'Acme Sign-in <login@acme.example>' }).mail.from).toBe('Acme Sign-in <login@acme.example>');
    expect(loadConfig({ MAIL_FROM: 'login@acme.example' }).mail.from).toBe('login@acme.example');
  });

  it.each(['http://mail.example.com', 'mail.example.com:25', 'smtp://', 'redis://mail:25', 'not a url'])('refuses SMTP_URL=%s, naming the key', (value) => {
    expect(problemsOf({ SMTP_URL: value })).toEqual([expect.stringMatching(/^SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/)]);
  });

  it.each(['no-reply', 'Gatehouse', 'a@b.example, c@d.example', 'Eve <eve@example.com>\r\nBcc: victim@example.com', '<>'])(
    'refuses MAIL_FROM=%j: it must be one address',
    (value) => {
      expect(problemsOf({ MAIL_FROM: value })).toEqual([expect.stringMatching(/^MAIL_FROM /)]);
    },
  );

  it('refuses an overlong MAIL_FROM in one problem', () => {
    expect(problemsOf({ MAIL_FROM: `${'a'.repeat(320)}@example.com` })).toEqual([expect.stringMatching(/^MAIL_FROM /)]);
  });

  it('refuses production without SMTP_URL in one line that says why', () => {
    expect(problemsOf(production)).toEqual([expect.stringMatching(/^SMTP_URL is required when NODE_ENV=production .*outbox/)]);
    expect(loadConfig({ ...production, SMTP_URL }).mail.smtpUrl).toBe(SMTP_URL);
  });

  it('never repeats SMTP credentials in an error message', () => {
    for (const env of [
      { SMTP_URL: 'http://gatehouse:hunter2-mail-secret@smtp.example.com', PORT: 'bad' },
      { SMTP_URL: 'smtp://gatehouse:hunter2-mail-secret@', PORT: 'bad' },
      { SMTP_URL: 'smtps://gatehouse:hunter2-mail-secret@smtp.example.com', MAIL_FROM: 'nobody' },
    ]) {
      try {
        loadConfig(env);
        throw new Error('accepted');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).not.toContain('hunter2');
      }
    }
  });
});
