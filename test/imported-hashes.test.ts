import { pbkdf2Sync } from 'node:crypto';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { describe, expect, it } from 'vitest';
import { hashProblem } from '../src/accounts/imported-hashes.ts';
import { createPasswordHasher, needsRehash } from '../src/accounts/password-hashing.ts';
import { ServerBusy } from '../src/errors/app-error.ts';

const django = (password: string, iterations: number, salt = 'NaClNaCl') =>
  `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`;

describe('imported password hashes', () => {
  it('bounds the work one imported hash may ask for', async () => {
    const b = await bcryptHash('x', 4);
    expect(hashProblem(b)).toBeUndefined();
    expect(hashProblem(b.replace(/^\$2b\$04\$/, '$2b$15$'))).toMatch(/cost of 15/);
    expect(hashProblem(b.replace(/^\$2b\$/, '$2x$'))).toMatch(/not a bcrypt hash/);
    expect(hashProblem(django('x', 1000))).toBeUndefined();
    expect(hashProblem(django('x', 3_000_001).replace(/\$[^$]+$/, `$${'A'.repeat(43)}=`))).toMatch(/3000001 PBKDF2 iterations/);
    expect(hashProblem(`$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$${'A'.repeat(43)}`)).toBeUndefined();
    expect(hashProblem(`$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$${'A'.repeat(43)}`)).toMatch(/above m=262144/);
    expect(hashProblem('md5$x$y')).toMatch(/no accepted form/);
    // Never the hash itself in a reason.
    expect(hashProblem(b.replace(/^\$2b\$04\$/, '$2b$15$'))).not.toContain(b.slice(7));
  });

  it('verifies bcrypt and Django hashes through the bounded pool, refusing past it with ServerBusy', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1, maxQueued: 0 });
    const b = await bcryptHash('bcrypt passphrase', 8);
    const d = django('django passphrase', 20_000);
    expect(await hasher.verify(b, 'bcrypt passphrase')).toBe(true);
    expect(await hasher.verify(b, 'wrong')).toBe(false);
    expect(await hasher.verify(d, 'django passphrase')).toBe(true);
    expect(await hasher.verify(d, 'wrong')).toBe(false);
    expect(needsRehash(b) && needsRehash(d)).toBe(true);
    // One running, none may wait: a second check at once is refused before any work.
    const running = hasher.verify(b, 'bcrypt passphrase');
    await expect(hasher.verify(d, 'django passphrase')).rejects.toBeInstanceOf(ServerBusy);
    await expect(running).resolves.toBe(true);
    // An out-of-bounds hash is a failed sign-in, not work.
    expect(await hasher.verify(b.replace(/^\$2b\$08\$/, '$2b$31$'), 'bcrypt passphrase')).toBe(false);
  });
});
