import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createBackgroundTasks } from '../src/background/background-tasks.ts';
import { responseSent } from '../src/http/response-sent.ts';

// What keeps the password-reset lookup off the answer's time: a task given `after` starts only
// once it settles, and `after` is the request's answer having been handed to the socket.
describe('work after the answer', () => {
  it('starts a task only once `after` settles, and counts it as pending from the start', async () => {
    const tasks = createBackgroundTasks({ logger: pino({ level: 'silent' }) });
    let release!: () => void;
    const after = new Promise<void>((resolve) => (release = resolve));
    const events: string[] = [];
    tasks.run('t', async () => void events.push('work'), after);
    const idle = tasks.idle().then(() => events.push('idle'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
    release();
    await idle;
    expect(events).toEqual(['work', 'idle']);
  });

  it('lets a request start its task only after its answer was sent', async () => {
    const tasks = createBackgroundTasks({ logger: pino({ level: 'silent' }) });
    const events: string[] = [];
    const app = new Koa();
    app.use(async (ctx) => {
      tasks.run('t', async () => void events.push(`work, answer sent: ${ctx.res.writableFinished}`), responseSent(ctx));
      // The answer is still being made (as oidc-provider's middleware would, after the route).
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push('answer made');
      ctx.body = 'ok';
    });
    const server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(await res.text()).toBe('ok');
      await tasks.idle();
      expect(events).toEqual(['answer made', 'work, answer sent: true']);
    } finally {
      server.close();
    }
  });
});
