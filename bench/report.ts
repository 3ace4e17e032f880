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
  storage?: StorageOpsPerToken;
}): void {
  const [gatehouse, bare] = r.summaries as [TargetSummary, TargetSummary];
  const limit = r.signing.perSecond;
  const rows = [
    ['target', 'tokens/s', 'p50 ms', 'p99 ms', 'server CPU ms/token', 'non-2xx', 'errors', 'rounds (tokens/s)'],
    ...r.summaries.map((s) => [
      s.name,
      fixed(s.tokensPerSecond),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.serverCpuMsPerToken, 2),
      String(s.non2xx),
      String(s.errors),
      s.rounds.join(' / '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out();
  out(`Token endpoint, client_credentials (medians of ${gatehouse.rounds.length} alternating rounds)`);
  for (const row of rows) out(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`);
  out();
  const sigCpu = r.signing.cpuMsPerSignature;
  out(`  RS256 signing limit, 1 core (jose SignJWT): ${fixed(limit)} sig/s wall; ${fixed(sigCpu, 3)} CPU ms/sig = ${fixed(1000 / sigCpu)} sig per CPU-second`);
  const pct = (x: number | undefined) => (x === undefined ? '?' : `${fixed(x * 100)} %`);
  const ratios = {
    gatehouseToSigningLimit: gatehouse.tokensPerSecond / limit,
    bareToSigningLimit: bare.tokensPerSecond / limit,
    gatehouseToBare: gatehouse.tokensPerSecond / bare.tokensPerSecond,
    // Less noisy on a shared machine: how much of each token's server CPU is the signature, and CPU cost vs bare.
    signingShareOfGatehouseCpu: gatehouse.serverCpuMsPerToken && sigCpu / gatehouse.serverCpuMsPerToken,
    signingShareOfBareCpu: bare.serverCpuMsPerToken && sigCpu / bare.serverCpuMsPerToken,
    gatehouseCpuToBareCpu: gatehouse.serverCpuMsPerToken && bare.serverCpuMsPerToken && gatehouse.serverCpuMsPerToken / bare.serverCpuMsPerToken,
  };
  out(`  gatehouse / signing limit: ${pct(ratios.gatehouseToSigningLimit)}   (signature = ${pct(ratios.signingShareOfGatehouseCpu)} of its CPU per token)`);
  out(`  bare      / signing limit: ${pct(ratios.bareToSigningLimit)}   (signature = ${pct(ratios.signingShareOfBareCpu)} of its CPU per token)`);
  out(`  gatehouse / bare:          ${pct(ratios.gatehouseToBare)}  (goal: within 10 %, i.e. >= 90 %: ${ratios.gatehouseToBare >= 0.9 ? 'met' : 'NOT met'}); CPU per token ${pct(ratios.gatehouseCpuToBareCpu)} of bare's`);
  if (r.storage) {
    const s = r.storage;
    out(
      `  storage per token (gatehouse, ${s.tokens} tokens): Postgres ${fixed(s.postgresReadsPerToken, 3)} table scans + ` +
        `${fixed(s.postgresRowsWrittenPerToken, 3)} rows written; Redis ${fixed(s.redisCommandsPerToken, 3)} commands (server-wide)`,
    );
  }
  out();
  out(JSON.stringify({ settings: r.settings, signing: r.signing, targets: r.summaries, ratios, storage: r.storage }));
}
