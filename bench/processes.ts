import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const OUTPUT_LIMIT = 64 * 1024;

export type Child = {
  name: string;
  process: ChildProcess;
  /** The last 64 KiB of stdout and stderr, for failure reports. */
  output: () => string;
  hasExited: () => boolean;
};

/** Runs `node <args>` in the background, keeping a bounded tail of its output. */
export function startNode(name: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return { name, process: child, output: () => output, hasExited: () => exited };
}

/** Runs `node <args>` to completion and returns its stdout; throws with its stderr if it fails. */
export async function runNode(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<string> {
  const child = startNode(args.join(' '), args, env);
  const stdout: Buffer[] = [];
  child.process.stdout!.on('data', (c: Buffer) => stdout.push(c));
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = (await once(child.process, 'exit')) as [number | null, string | null];
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code ?? signal}:\n${child.output()}`);
    return Buffer.concat(stdout).toString();
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 2xx; fails early if the child dies, and after `timeoutMs`. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000, alsoReady: number[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.hasExited()) throw new Error(`${child.name} exited during start-up:\n${child.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok || alsoReady.includes(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${child.name} not ready at ${url} after ${timeoutMs} ms (${last}):\n${child.output()}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function stopChild(child: Child, graceMs = 5_000): Promise<void> {
  if (child.hasExited()) return;
  const exited = once(child.process, 'exit');
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A port that was free a moment ago on the loopback interface. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
