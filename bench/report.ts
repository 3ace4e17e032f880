import { readdir, readFile } from 'node:fs/promises';
import type { SigningResult } from './signing-baseline.ts';
import type { StorageOpsPerToken } from './storage-ops.ts';

export type TargetSummary = {
  name: string;
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The server's own CPU time per token: steadier than throughput on a shared machine. */
  serverCpuMsPerToken: number | undefined;
  non2xx: number;
  errors: number;
  /** tokens/s of each round, in order. */
  rounds: number[];
};

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// USER_HZ is 100 on every Linux build Node supports.
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process and its children (cluster workers), from /proc; undefined elsewhere. */
export async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
      for (const child of children.split(' ').filter(Boolean)) seconds += (await cpuSecondsOf(Number(child))) ?? 0;
    }
    return seconds;
  } catch {
    return undefined;
  }
}

const fixed = (n: number | undefined, digits = 0) => (n === undefined ? '?' : n.toFixed(digits));

export function printReport(r: {
  settings: Record<string, unknown>;
  signing: SigningResult;
  summaries: TargetSummary[];
  /** One connection's p50 (ms), per target. */
  latency: Record<string, number>;
  algs: (TargetSummary & { alg: 'ES256' | 'EdDSA' })[];
  storage?: StorageOpsPerToken;
}): void {
  const byName = new Map(r.summaries.map((s) => [s.name, s]));
  const gatehouse = byName.get('gatehouse')!;
  const auto = byName.get('gatehouse-auto')!;
  const bare = byName.get('bare')!;
  const peer = byName.get('peer')!;
  const rsa = r.signing.perCpuSecond.RS256;
  // tokens/s ÷ server CPU-seconds per second ÷ one core's sign/s: the share of each core the server
  // uses that turns into signatures; 100 % would be a server doing nothing but sign.
  const efficiency = (s: TargetSummary, perCpuSecond = rsa) => (s.serverCpuMsPerToken ? 1000 / s.serverCpuMsPerToken / perCpuSecond : undefined);
  const rows = [
    ['target', 'tokens/s', 'p50 ms', 'p99 ms', 'server CPU ms/token', 'of each core signing', 'non-2xx', 'errors', 'rounds (tokens/s)'],
    ...[...r.summaries, ...r.algs].map((s) => [
      s.name,
      fixed(s.tokensPerSecond),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.serverCpuMsPerToken, 3),
      pct(efficiency(s, 'alg' in s ? r.signing.perCpuSecond[(s as { alg: 'ES256' | 'EdDSA' }).alg] : rsa)),
      String(s.non2xx),
      String(s.errors),
      s.rounds.join(' / '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out();
  out(
    `Token endpoint, client_credentials, ${String(r.settings.connections)} connections (medians of ${gatehouse.rounds.length} alternating rounds; ES256/EdDSA one round)`,
  );
  for (const row of rows) out(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`);
  out();
  const s = r.signing.perCpuSecond;
  out(
    `  signing limit, one core (${r.signing.source}): RS256 ${fixed(s.RS256)}/s (${fixed(r.signing.rsaSignatureMs, 3)} ms), ES256 ${fixed(s.ES256)}/s, EdDSA ${fixed(s.EdDSA)}/s`,
  );
  const latencyGoalMs = 1.5 * r.signing.rsaSignatureMs + 0.3;
  const ratios = {
    gatehouseEfficiency: efficiency(gatehouse),
    bareEfficiency: efficiency(bare),
    peerEfficiency: efficiency(peer),
    gatehouseToPeerThroughput: gatehouse.tokensPerSecond / peer.tokensPerSecond,
    gatehouseToBareThroughput: gatehouse.tokensPerSecond / bare.tokensPerSecond,
    autoToOneCoreSigning: auto.tokensPerSecond / rsa,
    gatehouseOneConnectionP50Ms: r.latency.gatehouse,
    latencyGoalMs,
    es256Efficiency: r.algs.find((a) => a.alg === 'ES256') && efficiency(r.algs.find((a) => a.alg === 'ES256')!, s.ES256),
    eddsaEfficiency: r.algs.find((a) => a.alg === 'EdDSA') && efficiency(r.algs.find((a) => a.alg === 'EdDSA')!, s.EdDSA),
  };
  const goal = (isMet: boolean) => (isMet ? 'met' : 'NOT met');
  out(`  of each server core turned into RS256 tokens (tokens/s ÷ server CPU ÷ openssl sign/s):`);
  out(
    `    gatehouse ${pct(ratios.gatehouseEfficiency)} (goal >= 75 %: ${goal((ratios.gatehouseEfficiency ?? 0) >= 0.75)});  bare oidc-provider ${pct(ratios.bareEfficiency)};  peer ${pct(ratios.peerEfficiency)}`,
  );
  out(
    `  gatehouse / peer throughput: ${pct(ratios.gatehouseToPeerThroughput)} (goal > 100 %: ${goal(ratios.gatehouseToPeerThroughput > 1)});  gatehouse / bare: ${pct(ratios.gatehouseToBareThroughput)}`,
  );
  out(
    `  WORKERS=auto total / one core's RS256 signing rate: ${fixed(ratios.autoToOneCoreSigning, 2)}x (goal >= 1.5x: ${goal(ratios.autoToOneCoreSigning >= 1.5)}; load generator on the same cores)`,
  );
  out(
    `  p50 at one connection: gatehouse ${fixed(r.latency.gatehouse, 3)} ms, peer ${fixed(r.latency.peer, 3)} ms ` +
      `(goal <= 1.5 x signature + 0.3 ms = ${fixed(latencyGoalMs, 3)} ms: ${goal((r.latency.gatehouse ?? Infinity) <= latencyGoalMs)})`,
  );
  out(`  ES256: ${pct(ratios.es256Efficiency)} of each core's P-256 signing rate; EdDSA: ${pct(ratios.eddsaEfficiency)} of its Ed25519 rate`);
  if (r.storage) {
    const st = r.storage;
    out(
      `  storage per token (gatehouse, ${st.tokens} tokens): Postgres ${fixed(st.postgresReadsPerToken, 3)} table scans + ` +
        `${fixed(st.postgresRowsWrittenPerToken, 3)} rows written; Redis ${fixed(st.redisCommandsPerToken, 3)} commands (server-wide)`,
    );
  }
  out();
  out(JSON.stringify({ settings: r.settings, signing: r.signing, targets: r.summaries, algs: r.algs, latency: r.latency, ratios, storage: r.storage }));
}

const pct = (x: number | undefined) => (x === undefined ? '?' : `${fixed(x * 100)} %`);
