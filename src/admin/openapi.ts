import { z } from 'zod';
import type { AdminRoute } from './admin-route.ts';

const errorSchema = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** `/clients/:id` → `/clients/{id}` */
export const openApiPath = (koaPath: string) => koaPath.replace(/:(\w+)/g, '{$1}');

/** OpenAPI 3.1 for the admin routes; request schemas come from the same zod schemas that validate. */
export function openApiDocument(routes: AdminRoute[], options: { issuer: string; prefix: string; audience: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${options.prefix}${openApiPath(route.path)}`;
    const parameters = [
      ...[...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(route.query ? queryParameters(route.query) : []),
    ];
    const status = String(route.status ?? 200);
    (paths[path] ??= {})[route.method] = {
      operationId: `${route.method}${path.replace(/[^a-zA-Z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      security: [{ gatehouse: ['admin'] }],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(route.body, { io: 'input' }) } } } } : {}),
      responses: {
        [status]: status === '204' ? { description: 'Done' } : { description: 'OK', content: { 'application/json': { schema: {} } } },
        400: errorResponse('Bad request: the body or query does not fit the schema, or a service refused it'),
        401: errorResponse('No token, or a token that is invalid, expired, revoked or for another audience'),
        403: errorResponse('A token for this API without the admin scope'),
        ...(route.path.includes(':') || route.query ? { 404: errorResponse('Not found') } : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description:
        `Manage clients, APIs, users, signing keys and sessions, and read the audit trail. Every operation needs an access token ` +
        `for the audience ${options.audience} with the admin scope, e.g. from the client_credentials grant.`,
    },
    servers: [{ url: options.issuer }],
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        gatehouse: {
          type: 'oauth2',
          flows: { clientCredentials: { tokenUrl: `${options.issuer}/token`, scopes: { admin: 'Administer Gatehouse' } } },
        },
      },
    },
  };
}

function queryParameters(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}
