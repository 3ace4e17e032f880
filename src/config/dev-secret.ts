import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './load-config.ts';

/**
 * Outside production a missing GATEHOUSE_SECRET is generated once into DATA_DIR, so
 * `npm start` works with zero setup and restarts keep cookies, keys and client secrets valid.
 */
export async function resolveSecret(config: Config): Promise<string> {
  if (config.secret) return config.secret;
  if (config.isProduction) throw new Error('GATEHOUSE_SECRET is required when NODE_ENV=production');
  const file = join(config.dataDir, 'gatehouse-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  // 'wx' fails if another process created it first; then read theirs.
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(file, 'utf8')).trim();
  }
}
