import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from there, as `npx gatehouse` would. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A child environment with nothing of ours in it but PATH and what the test passes: the process
 * must not pick up the test runner's DATABASE_URL, NODE_ENV=test or the like by accident.
 */
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });

export type CliResult = { code: number | null; stdout: string; stderr: string };

/** Runs `node bin/gatehouse.js ...args` to completion (bounded), optionally feeding stdin. */
export function runCli(args: string[], env: Record<string, string>, options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['bin/gatehouse.js', ...args], { cwd: repoRoot, env: { ...baseEnv(), ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  child.stdin.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export type GatehouseProcess = {
  child: ChildProcess;
  /** Everything written so far, stdout and stderr interleaved by arrival. */
  output: () => string;
  /** Resolves with the first line (past or future) matching `pattern`; rejects on timeout or exit. */
  waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
  /** SIGKILL if still running; safe to call twice. */
  kill: () => void;
};

/** Starts a long-running `node bin/gatehouse.js ...args` (e.g. `serve`) and watches its output. */
export function startGatehouseProcess(args: string[], env: Record<string, string>): GatehouseProcess {
  const child = spawn(process.execPath, ['bin/gatehouse.js', ...args], { cwd: repoRoot, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exitedFlag = false;
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr are fully read.
    child.on('close', (code, signal) => {
      exitedFlag = true;
      for (const w of waiters) w();
      resolve(code ?? signal ?? 'unknown');
    });
  });

  const waitForLine = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return done(() => resolve(line));
        if (exitedFlag) done(() => reject(new Error(`process exited before printing ${pattern}:\n${text}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${text}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    output: () => text,
    waitForLine,
    exited,
    kill: () => {
      if (!exitedFlag) child.kill('SIGKILL');
    },
  };
}

/** Resolves with `promise`'s value, or rejects if it takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
