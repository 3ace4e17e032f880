import { DPOP_ALGORITHMS } from './dpop-proof.ts';

/** The RFC 9728 §2 document for one protected resource (an API). */
export type ProtectedResourceMetadata = {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
  resource_name?: string;
  resource_documentation?: string;
};

/**
 * Where a resource's metadata lives (RFC 9728 §3.1): `/.well-known/oauth-protected-resource`
 * inserted between the host and the path of its identifier, so `https://api.example.com/mcp`
 * has `https://api.example.com/.well-known/oauth-protected-resource/mcp`. Undefined for an
 * identifier that is not an http(s) URL (a URN has no well-known location).
 */
export function resourceMetadataUrl(resource: string): string | undefined {
  const url = URL.parse(resource);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export function protectedResourceMetadata(o: {
  resource: string;
  issuer: string;
  scopes?: readonly string[];
  name?: string;
  documentation?: string;
}): ProtectedResourceMetadata {
  return {
    resource: o.resource, // exactly the identifier: clients compare it with what they asked for (§3.3)
    authorization_servers: [o.issuer],
    ...(o.scopes?.length ? { scopes_supported: [...o.scopes] } : {}),
    bearer_methods_supported: ['header'], // never the query or the body (RFC 6750 §2.2, §2.3: tokens end up in logs)
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    ...(o.name ? { resource_name: o.name } : {}),
    ...(o.documentation ? { resource_documentation: o.documentation } : {}),
  };
}
