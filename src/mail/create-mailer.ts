import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Delivery, MailKind, MailMessage, MailTransport } from './mail-message.ts';
import { MailSendError } from './smtp-transport.ts';

export type MailOutcome = 'sent' | 'retried' | 'failed' | 'dropped';

export type MailerOptions = {
  transport: MailTransport;
  /** MAIL_FROM. */
  from: string;
  logger: Logger;
  /** One call per outcome: a delivery, a failed attempt to be retried, giving up, or a drop (queue full, shutdown). */
  onOutcome?: (kind: MailKind, outcome: MailOutcome) => void;
  /** Attempts per message before giving up (default 12: with the default backoff, 9 to 18 minutes of retrying). */
  maxAttempts?: number;
  /** Backoff: base · 2^(attempt−1), at most max, with jitter (defaults 1 s and 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Messages waiting or in flight; more are dropped (default 1000). */
  maxQueued?: number;
  /** Deliveries at once (default 2). */
  concurrency?: number;
  /** One attempt, connection to end of DATA (default 60 s). */
  attemptTimeoutMs?: number;
};

type Job = { id: string; message: MailMessage; attempts: number; dueAt: number };

/**
 * Sends mail off the request path: `send` queues a message and returns at once; deliveries run in
 * the background with retries (exponential backoff) and never fail the caller, so an SMTP outage
 * cannot turn a sign-up or a reset request into a 5xx. The queue lives in this process's memory
 * (bounded in length and attempts); see README "Email" for why it is not durable.
 * Logs name the message's kind and id, never its content or link.
 */
export function createMailer(options: MailerOptions) {
  const { transport, from, logger } = options;
  const maxAttempts = options.maxAttempts ?? 12;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 300_000;
  const maxQueued = options.maxQueued ?? 1000;
  const concurrency = options.concurrency ?? 2;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 60_000;
  const outcome = (kind: MailKind, result: MailOutcome) => options.onOutcome?.(kind, result);

  const waiting: Job[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let isClosing = false;
  let isStopped = false;
  const stop = new AbortController();
  let idleWaiters: (() => void)[] = [];

  const settleIfIdle = () => {
    if (waiting.length > 0 || inFlight > 0) return;
    for (const resolve of idleWaiters) resolve();
    idleWaiters = [];
  };

  const backoffMs = (attempts: number) => {
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2)); // jitter: instances do not retry in step
  };

  const logDelivered = (job: Job, delivery: Delivery) => {
    const { message } = job;
    if (delivery.outbox === 'not kept') {
      logger.info(
        { mailId: job.id, kind: message.kind, to: message.to.address, subject: message.subject },
        'mail not kept: no SMTP_URL and DATA_DIR is in memory',
      );
    } else if (delivery.outbox) {
      logger.info(
        { mailId: job.id, kind: message.kind, to: message.to.address, subject: message.subject, file: delivery.outbox.file },
        'mail written to the outbox (no SMTP_URL)',
      );
    } else {
      logger.info({ mailId: job.id, kind: message.kind, attempts: job.attempts, messageId: delivery.messageId }, 'mail sent');
    }
  };

  /** Only codes and the (scrubbed) server reply: an error never carries the message. */
  const describe = (err: unknown) =>
    err instanceof MailSendError
      ? { code: err.code, responseCode: err.responseCode, command: err.command, reason: err.message }
      : { reason: (err as Error)?.message?.slice(0, 300) ?? String(err) };

  const attempt = async (job: Job) => {
    job.attempts += 1;
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(attemptTimeoutMs)]);
    try {
      logDelivered(job, await transport.deliver(from, job.message, signal));
      outcome(job.message.kind, 'sent');
      return;
    } catch (err) {
      const fields = { mailId: job.id, kind: job.message.kind, attempts: job.attempts, ...describe(err) };
      if (isStopped) {
        logger.error(fields, 'mail not sent: shutting down');
        outcome(job.message.kind, 'dropped');
        return;
      }
      const retryInMs = backoffMs(job.attempts);
      const isPermanent = err instanceof MailSendError && err.isPermanent;
      const isTooLate = job.message.notAfter !== undefined && Date.now() + retryInMs >= job.message.notAfter.getTime();
      if (isPermanent || job.attempts >= maxAttempts || isTooLate) {
        const why = isPermanent ? 'refused by the server' : isTooLate ? 'its link expires first' : 'too many attempts';
        logger.error({ ...fields, why }, 'mail not sent; giving up');
        outcome(job.message.kind, 'failed');
        return;
      }
      logger.warn({ ...fields, retryInMs }, 'mail not sent; will retry');
      outcome(job.message.kind, 'retried');
      job.dueAt = Date.now() + retryInMs;
      waiting.push(job);
    }
  };

  /** Starts every due job there is room for, and sets one timer for the next one. */
  const pump = () => {
    if (isStopped) return;
    clearTimeout(timer);
    timer = undefined;
    const now = Date.now();
    waiting.sort((a, b) => a.dueAt - b.dueAt);
    while (inFlight < concurrency && waiting.length > 0 && waiting[0]!.dueAt <= now) {
      const job = waiting.shift()!;
      inFlight += 1;
      void attempt(job).finally(() => {
        inFlight -= 1;
        pump();
        settleIfIdle();
      });
    }
    const next = waiting[0];
    if (next && inFlight < concurrency) {
      // unref: a pending retry alone does not keep a process alive; close() drains explicitly.
      timer = setTimeout(pump, Math.max(0, next.dueAt - now)).unref();
    }
  };

  return {
    /**
     * Queues a message; returns at once. False when it was not queued (queue full, or closing):
     * logged and counted, never thrown: the caller's answer must not depend on mail.
     */
    send(message: MailMessage): boolean {
      const id = randomUUID();
      if (isClosing || waiting.length + inFlight >= maxQueued) {
        logger.error({ mailId: id, kind: message.kind, why: isClosing ? 'shutting down' : 'queue full' }, 'mail dropped');
        outcome(message.kind, 'dropped');
        return false;
      }
      waiting.push({ id, message, attempts: 0, dueAt: Date.now() });
      pump();
      return true;
    },

    /** Messages waiting or being sent. */
    pending: () => waiting.length + inFlight,

    /** Resolves when nothing is waiting or in flight. */
    idle: (): Promise<void> =>
      new Promise((resolve) => {
        idleWaiters.push(resolve);
        settleIfIdle();
      }),

    /**
     * Stops taking messages, gives each waiting one a last prompt attempt and waits up to
     * `timeoutMs` for the queue to drain; then aborts what is in flight and logs what was lost.
     */
    async close(closeOptions: { timeoutMs?: number } = {}): Promise<void> {
      if (isClosing) return;
      isClosing = true;
      const now = Date.now();
      for (const job of waiting) job.dueAt = Math.min(job.dueAt, now);
      pump();
      let deadline: NodeJS.Timeout | undefined;
      const isDrained = await Promise.race([
        new Promise<boolean>((resolve) => {
          idleWaiters.push(() => resolve(true));
          settleIfIdle();
        }),
        new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(false), closeOptions.timeoutMs ?? 5000))),
      ]);
      clearTimeout(deadline);
      if (!isDrained) {
        isStopped = true;
        clearTimeout(timer);
        for (const job of waiting.splice(0)) {
          logger.error({ mailId: job.id, kind: job.message.kind, attempts: job.attempts }, 'mail not sent: shutting down');
          outcome(job.message.kind, 'dropped');
        }
        stop.abort();
        await new Promise<void>((resolve) => {
          idleWaiters.push(resolve);
          settleIfIdle();
        });
      }
      await transport.close();
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
