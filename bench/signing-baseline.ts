import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';

export type SigningAlgName = 'RS256' | 'ES256' | 'EdDSA';

export type SigningResult = {
  /** Where the rates come from: `openssl speed` (the limit), else node:crypto in this process. */
  source: 'openssl speed' | 'node:crypto';
  /** Signatures per CPU-second on one core, per algorithm. */
  perCpuSecond: Record<SigningAlgName, number>;
  /** One RS256 signature's CPU time: the floor of a token's latency. */
  rsaSignatureMs: number;
};

const OPENSSL_ALGS: Record<SigningAlgName, { name: string; line: RegExp }> = {
  RS256: { name: 'rsa2048', line: /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)/m },
  ES256: { name: 'ecdsap256', line: /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)/m },
  EdDSA: { name: 'ed25519', line: /^\s*253 bits EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)/m },
};

/**
 * The single-core signing limit: `openssl speed` for RSA-2048, P-256 and Ed25519. openssl divides
 * by its own user CPU time, so the rates hold on a shared machine too. Node's crypto.sign on a
 * KeyObject is the same OpenSSL work (≈ 96 % of openssl's rate measured here); where openssl is
 * not installed, node:crypto's rate in this process is used instead, and the report says so.
 */
export async function measureSigning(options: { seconds: number }): Promise<SigningResult> {
  try {
    const { stdout } = await promisify(execFile)('openssl', ['speed', '-seconds', String(options.seconds), ...Object.values(OPENSSL_ALGS).map((a) => a.name)], {
      timeout: (options.seconds * 3 + 30) * 1000,
    });
    const rate = (alg: SigningAlgName) => {
      const match = OPENSSL_ALGS[alg].line.exec(stdout);
      if (!match) throw new Error(`no ${OPENSSL_ALGS[alg].name} line in openssl speed's output`);
      return Number(match[1]);
    };
    const perCpuSecond = { RS256: rate('RS256'), ES256: rate('ES256'), EdDSA: rate('EdDSA') };
    return { source: 'openssl speed', perCpuSecond, rsaSignatureMs: 1000 / perCpuSecond.RS256 };
  } catch (err) {
    process.stderr.write(`openssl speed unavailable (${(err as Error).message}); measuring node:crypto instead\n`);
    const perCpuSecond = { RS256: nodeRate('RS256', options.seconds), ES256: nodeRate('ES256', options.seconds), EdDSA: nodeRate('EdDSA', options.seconds) };
    return { source: 'node:crypto', perCpuSecond, rsaSignatureMs: 1000 / perCpuSecond.RS256 };
  }
}

function nodeRate(alg: SigningAlgName, seconds: number): number {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const data = randomBytes(600); // about a client-credentials JWT's signing input
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const cpuBefore = process.cpuUsage();
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 20; i += 1) sign(digest, data, privateKey);
    n += 20;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return n / ((cpu.user + cpu.system) / 1e6);
}
