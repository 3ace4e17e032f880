import type { z } from 'zod';
import type { Actor } from '../audit/audit-log.ts';

/**
 * One admin API operation, as data: the router and the OpenAPI document are both built from the
 * same list, so they cannot drift apart.
 */
export type AdminRoute = {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Koa-style path under /admin/v1, e.g. `/clients/:id`. */
  path: string;
  /** Audit name of a change (`client.create` → `admin.client.create`); reads are not audited. */
  action?: string;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status (200 unless said); 204 sends no body. */
  status?: 200 | 201 | 204;
  handle: (input: { params: Record<string, string>; body: unknown; query: unknown; actor: Actor }) => Promise<unknown>;
};
