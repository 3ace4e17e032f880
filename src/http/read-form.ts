import type { Context } from 'koa';
import { AppError } from '../errors/app-error.ts';

/**
 * Reads an application/x-www-form-urlencoded body with a size cap. On overflow the connection is
 * closed: unread bytes left on a keep-alive socket would be parsed as the next request.
 */
export async function readForm(ctx: Context, limitBytes = 16 * 1024): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new AppError('unsupported_media_type', 'expected a form submission', 415);
  }
  return new URLSearchParams(await readBodyText(ctx, limitBytes));
}

/** The request body as text, refused past limitBytes (413). */
export async function readBodyText(ctx: Context, limitBytes: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) {
    ctx.set('Connection', 'close');
    throw new AppError('payload_too_large', 'request body too large', 413);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      ctx.set('Connection', 'close');
      throw new AppError('payload_too_large', 'request body too large', 413);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One value for a field; a repeated field is ambiguous and refused (RFC 6749 §3.1 likewise). */
export function field(form: URLSearchParams, name: string): string {
  const values = form.getAll(name);
  if (values.length > 1) throw new AppError('invalid_request', `${name} given more than once`);
  return values[0] ?? '';
}
