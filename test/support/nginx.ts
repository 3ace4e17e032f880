import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The nginx binary: on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export const nginxBinary = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin']
  .map((dir) => join(dir, 'nginx'))
  .find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

/**
 * Fills `${NAME}` placeholders the way `envsubst '${A} ${B}'` does: only the names given, so
 * nginx's own `$variables` stay as they are. A placeholder left unfilled is an error.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const filled = template.replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
  const left = /\$\{\w+\}/.exec(filled.replace(/^\s*#.*$/gm, ''));
  if (left) throw new Error(`template placeholder ${left[0]} has no value`);
  return filled;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type RunningNginx = { url: string; errorLog: () => Promise<string>; stop: () => Promise<void> };

/**
 * A real nginx in the foreground, everything (logs, pid, temp files) in a fresh directory, with
 * `serverConfig` (http-context directives) included in a minimal main configuration.
 */
export async function startNginx(serverConfig: string, port: number): Promise<RunningNginx> {
  if (!nginxBinary) throw new Error('nginx is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-nginx-'));
  await chmod(dir, 0o755); // when run as root, the workers run as an unprivileged user
  await writeFile(join(dir, 'server.conf'), serverConfig);
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t}_temp;`),
      `  include ${dir}/server.conf;`,
      '}',
    ].join('\n'),
  );
  const errorLog = () => readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
  const child: ChildProcess = spawn(nginxBinary, ['-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`, '-g', `daemon off; pid ${dir}/nginx.pid;`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(child, 'exit');

  // Ready once it accepts connections; give up if it exits (a bad configuration) or takes too long.
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}${await errorLog()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    errorLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM'); // fast shutdown
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
