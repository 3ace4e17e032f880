import type { Context } from 'koa';
import { AppError } from '../errors/app-error.ts';
import { readBodyText } from './read-form.ts';

/** An application/json body (at most 64 KiB); a missing body is `{}`. Bad JSON is a 400, not a 500. */
export async function readJsonBody(ctx: Context, limitBytes = 64 * 1024): Promise<unknown> {
  const text = await readBodyText(ctx, limitBytes);
  if (!text.trim()) return {};
  if (!ctx.is('application/json')) throw new AppError('unsupported_media_type', 'expected application/json', 415);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('invalid_request', 'the body is not valid JSON');
  }
}
