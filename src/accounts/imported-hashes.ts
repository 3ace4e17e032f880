import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as bcryptVerify } from '@node-rs/bcrypt';

/**
 * Password hashes Gatehouse accepts from another system (`users import`): bcrypt (`$2a$`, `$2b$`,
 * `$2y$`), Django's `pbkdf2_sha256$…` and argon2 in PHC form. Such a user signs in with their old
 * password and is rehashed to argon2id then (needsRehash). Each scheme's work factor is bounded:
 * an imported hash is data from elsewhere, and a line asking for 2^31 bcrypt rounds or a 4 GiB
 * argon2 would turn every sign-in attempt for that email into a denial of service.
 */
export type HashScheme = 'argon2' | 'bcrypt' | 'pbkdf2_sha256';

// bcrypt: cost 4-14 (2^14 rounds is ~1-2 s of one core; 10-12 is what libraries default to).
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const MAX_BCRYPT_COST = 14;
// Django's PBKDF2PasswordHasher: pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>
// (Django 5.2 uses 1,000,000 iterations, 6.0 1,200,000).
const DJANGO_PBKDF2 = /^pbkdf2_sha256\$(\d{1,8})\$([^$]{1,128})\$([A-Za-z0-9+/]{43}=)$/;
const MAX_PBKDF2_ITERATIONS = 3_000_000;
// argon2 PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (v= may be absent in old ones;
// the parameters come in any order: node's argon2 writes m,p,t).
const ARGON2 = /^\$argon2(?:id|i|d)\$(?:v=(?:16|19)\$)?([a-z]=\d{1,7}(?:,[a-z]=\d{1,7}){2})\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}$/;
const MAX_ARGON2 = { memoryKib: 262_144, time: 20, parallelism: 16 }; // 256 MiB

export function hashScheme(hash: string): HashScheme | undefined {
  if (hash.startsWith('$argon2')) return 'argon2';
  if (hash.startsWith('$2')) return 'bcrypt';
  if (hash.startsWith('pbkdf2_sha256$')) return 'pbkdf2_sha256';
  return undefined;
}

/** Why this hash cannot be taken, or undefined when it can. The reason never repeats the hash. */
export function hashProblem(hash: string): string | undefined {
  const scheme = hashScheme(hash);
  if (scheme === 'bcrypt') {
    const m = BCRYPT.exec(hash);
    if (!m) return 'is not a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost and 53 characters)';
    const cost = Number(m[1]);
    if (cost < 4 || cost > MAX_BCRYPT_COST) return `has a bcrypt cost of ${cost}; 4 to ${MAX_BCRYPT_COST} are accepted`;
    return undefined;
  }
  if (scheme === 'pbkdf2_sha256') {
    const m = DJANGO_PBKDF2.exec(hash);
    if (!m) return 'is not a Django pbkdf2_sha256 hash (pbkdf2_sha256$iterations$salt$hash)';
    const iterations = Number(m[1]);
    if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) return `has ${iterations} PBKDF2 iterations; 1 to ${MAX_PBKDF2_ITERATIONS} are accepted`;
    return undefined;
  }
  if (scheme === 'argon2') {
    const m = ARGON2.exec(hash);
    if (!m) return 'is not an argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)';
    const params = new Map(m[1]!.split(',').map((kv) => [kv[0]!, Number(kv.slice(2))]));
    const [memoryKib, time, parallelism] = [params.get('m'), params.get('t'), params.get('p')];
    if (memoryKib === undefined || time === undefined || parallelism === undefined) return 'is not an argon2 PHC string (m, t and p are needed)';
    if (memoryKib > MAX_ARGON2.memoryKib || time < 1 || time > MAX_ARGON2.time || parallelism < 1 || parallelism > MAX_ARGON2.parallelism) {
      return `asks for argon2 parameters above m=${MAX_ARGON2.memoryKib}, t=${MAX_ARGON2.time}, p=${MAX_ARGON2.parallelism}`;
    }
    return undefined;
  }
  return 'is in no accepted form (bcrypt $2a$/$2b$/$2y$, Django pbkdf2_sha256$…, argon2 PHC $argon2id$…)';
}

const pbkdf2Async = promisify(pbkdf2);

/** bcrypt or Django PBKDF2: the password matches the hash (false for any malformed or out-of-bounds hash). */
export async function verifyImportedHash(hash: string, password: string): Promise<boolean> {
  if (hashProblem(hash)) return false;
  if (hashScheme(hash) === 'bcrypt') {
    // @node-rs/bcrypt runs on libuv's thread pool (like argon2), not on the event loop.
    return bcryptVerify(password, hash);
  }
  const [, iterations, salt, expected] = DJANGO_PBKDF2.exec(hash)!;
  // Django: base64(pbkdf2_hmac('sha256', password, salt, iterations)), salt and password as UTF-8.
  const actual = await pbkdf2Async(password, salt!, Number(iterations), 32, 'sha256');
  const wanted = Buffer.from(expected!, 'base64');
  return wanted.length === actual.length && timingSafeEqual(wanted, actual);
}
