import { NAVER_ENDPOINTS, type UpstreamSettings } from '../config/upstream-settings.ts';
import { AppError } from '../errors/app-error.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import { isSecureUrl } from '../validation/secure-url.ts';
import type { UpstreamRepository } from './upstream-repository.ts';

export type { UpstreamSettings };
/** What may be shown of an upstream: everything but the client secret. */
export type UpstreamSummary = Omit<UpstreamSettings, 'clientSecret'> & { source: 'environment' | 'database' };

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/; // it becomes a path segment of the redirect URI

/** The upstream identity providers: those of the environment, then those the CLI stored. */
export function createUpstreamService(deps: { issuer: string; fromEnvironment: readonly UpstreamSettings[]; repository: UpstreamRepository }) {
  const envIds = new Set(deps.fromEnvironment.map((u) => u.id));
  const summary = (u: UpstreamSettings, source: UpstreamSummary['source']): UpstreamSummary => {
    const { clientSecret: _secret, ...rest } = u;
    return { ...rest, source };
  };

  return {
    /** The redirect URI to register at the upstream. */
    redirectUriFor: (id: string) => `${deps.issuer}/upstream/${id}/callback`,

    async list(): Promise<UpstreamSettings[]> {
      const stored = (await deps.repository.list()).filter((u) => !envIds.has(u.id));
      return [...deps.fromEnvironment, ...stored];
    },

    async listSummaries(): Promise<UpstreamSummary[]> {
      const stored = (await deps.repository.list()).filter((u) => !envIds.has(u.id));
      return [...deps.fromEnvironment.map((u) => summary(u, 'environment')), ...stored.map((u) => summary(u, 'database'))];
    },

    async find(id: string): Promise<UpstreamSettings | undefined> {
      if (!ID.test(id)) return undefined;
      return deps.fromEnvironment.find((u) => u.id === id) ?? (await deps.repository.findById(id));
    },

    async add(input: {
      id: string;
      kind: string;
      name: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      issuer?: string;
      authorizationUrl?: string;
      tokenUrl?: string;
      profileUrl?: string;
    }): Promise<UpstreamSummary> {
      if (!ID.test(input.id)) throw new AppError('invalid_upstream', 'id must be 1-40 characters of a-z, 0-9 and -, starting with a letter or digit');
      if (envIds.has(input.id)) throw new AppError('conflict', `upstream ${input.id} is configured in the environment`, 409);
      if (input.kind !== 'oidc' && input.kind !== 'naver') throw new AppError('invalid_upstream', 'kind must be oidc or naver');
      const name = input.name.trim();
      if (!name || name.length > 60 || hasControlCharacters(name)) throw new AppError('invalid_upstream', 'name must be 1-60 characters');
      if (!input.clientId || input.clientId.length > 512 || hasControlCharacters(input.clientId))
        throw new AppError('invalid_upstream', 'client id is required');
      if (!input.clientSecret || input.clientSecret.length > 4096) throw new AppError('invalid_upstream', 'client secret is required');
      const urls =
        input.kind === 'oidc'
          ? { issuer: input.issuer }
          : {
              authorizationUrl: input.authorizationUrl ?? NAVER_ENDPOINTS.authorizationUrl,
              tokenUrl: input.tokenUrl ?? NAVER_ENDPOINTS.tokenUrl,
              profileUrl: input.profileUrl ?? NAVER_ENDPOINTS.profileUrl,
            };
      if (input.kind === 'oidc' && !input.issuer) throw new AppError('invalid_upstream', 'an oidc upstream needs --issuer');
      for (const [key, url] of Object.entries(urls)) {
        if (!isSecureUrl(url!)) throw new AppError('invalid_upstream', `${key} must be an https:// URL (http:// only on a loopback address)`);
      }
      const upstream: UpstreamSettings = {
        id: input.id,
        kind: input.kind,
        name,
        clientId: input.clientId,
        clientSecret: input.clientSecret,
        scope: (input.scope ?? (input.kind === 'oidc' ? 'openid email profile' : '')).trim(),
        ...urls,
      };
      if (!(await deps.repository.insert(upstream))) throw new AppError('conflict', `upstream ${input.id} already exists`, 409);
      return summary(upstream, 'database');
    },

    async remove(id: string): Promise<void> {
      if (envIds.has(id)) throw new AppError('conflict', `upstream ${id} is configured in the environment; unset its variables instead`, 409);
      if (!(await deps.repository.delete(id))) throw new AppError('not_found', `no upstream ${id}`, 404);
    },
  };
}

export type UpstreamService = ReturnType<typeof createUpstreamService>;
