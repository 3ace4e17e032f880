import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The embedded database is held by another live process (a running server shares it: see embedded-socket.ts). */
export class EmbeddedDatabaseInUse extends Error {
  readonly ownerPid: number;
  constructor(directory: string, ownerPid: number) {
    super(`the embedded database in ${directory} is in use by process ${ownerPid}; stop it first, or set DATABASE_URL to share a Postgres server`);
    this.ownerPid = ownerPid;
  }
}

/**
 * PGlite is one process's database: two processes on one data directory would corrupt it.
 * A pid file refuses the second one with a clear reason (and takes over a dead owner's file).
 */
export function lockEmbeddedDatabase(directory: string): () => void {
  const file = join(directory, 'gatehouse.pid');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8'));
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new EmbeddedDatabaseInUse(directory, owner);
      }
      unlinkSync(file); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock ${directory}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
