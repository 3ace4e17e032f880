import { randomBytes } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';

export type SigningResult = {
  signatures: number;
  seconds: number;
  /** Wall-clock rate. */
  perSecond: number;
  /** This process's CPU time (all threads) per signature: what one token's signature costs a core. */
  cpuMsPerSignature: number;
};

/**
 * RS256 signing of a typical RFC 9068 access token with jose, the way oidc-provider does it, one
 * signature at a time: the "single-core signing limit". jose 6 signs through WebCrypto, and Node 24
 * runs that RSA work synchronously on the calling thread (200 `subtle.sign` calls block for ~60 ms
 * before the first promise settles), so a one-process server cannot sign faster than this.
 */
export async function measureSigning(options: { seconds: number }): Promise<SigningResult> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const clientId = randomBytes(16).toString('base64url');
  const sign = () => {
    const now = Math.floor(Date.now() / 1000);
    // The claims oidc-provider puts in a client_credentials JWT access token (notes §8).
    return new SignJWT({
      jti: randomBytes(32).toString('base64url'),
      sub: clientId,
      iat: now,
      exp: now + 600,
      scope: 'read',
      client_id: clientId,
      iss: 'http://127.0.0.1:3000',
      aud: 'https://api.bench.example',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
      .sign(privateKey);
  };

  // A short warm-up so JIT and key import do not count.
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await sign();

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let signatures = 0;
  while (performance.now() < deadline) {
    await sign();
    signatures += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMsPerSignature = (cpu.user + cpu.system) / 1000 / signatures;
  return { signatures, seconds, perSecond: signatures / seconds, cpuMsPerSignature };
}
