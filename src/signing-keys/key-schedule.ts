import type { Logger } from 'pino';
import type { ChangeNotices } from '../db/change-notices.ts';
import type { SigningKeyStore } from './signing-key-store.ts';

/**
 * Runs on every instance: applies due rotation steps (the store's lock lets one instance at a
 * time do it) and notices when the published key set changed — through a change notice at
 * once, or through a cheap fingerprint poll if a notice was missed — so the caller can rebuild
 * its Provider without a restart.
 */
export function startKeySchedule(deps: {
  store: SigningKeyStore;
  notices: ChangeNotices;
  onKeysChanged: () => Promise<void>;
  logger: Logger;
  /** How often due rotation steps are applied. */
  tickMs: number;
  /** How often the key set is compared, in case a change notice was missed. */
  pollMs: number;
  /** The key set the running Provider was built from, so that a step due at start-up is picked up too. */
  builtFrom?: string;
}) {
  let lastFingerprint: string | undefined = deps.builtFrom;
  let running: Promise<void> | undefined;
  let stopped = false;

  const refresh = async () => {
    const fingerprint = await deps.store.fingerprint();
    if (lastFingerprint !== undefined && fingerprint !== lastFingerprint) {
      deps.logger.info('signing keys changed; reloading');
      await deps.onKeysChanged();
    }
    lastFingerprint = fingerprint;
  };

  // One pass at a time: a notice arriving mid-tick waits for it instead of racing it.
  const run = (withSteps: boolean) => {
    const previous = running ?? Promise.resolve();
    running = previous.then(async () => {
      if (stopped) return;
      try {
        if (withSteps) await deps.store.runScheduledSteps(); // the store tells every instance of a change
        await refresh();
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'signing-key schedule pass failed; will retry');
      }
    });
    return running;
  };

  deps.notices.subscribe((n) => n.topic === 'signing-keys' && void run(false));
  const timers = [setInterval(() => void run(true), deps.tickMs), setInterval(() => void run(false), deps.pollMs)];
  for (const t of timers) t.unref();

  return {
    /** Runs one pass now (start-up, tests, and after `keys rotate` in this process). */
    runOnce: () => run(true),
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
    },
  };
}
