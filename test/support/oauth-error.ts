import * as oauth from 'openid-client';

/**
 * The status and OAuth `error` code of a request that must fail. openid-client throws a
 * ResponseBodyError for most errors, but a WWWAuthenticateChallengeError (body unread) when a 401
 * carries a WWW-Authenticate header, as invalid_client with client_secret_basic does.
 */
export async function oauthError(request: Promise<unknown>): Promise<{ status: number; error: string | undefined }> {
  try {
    await request;
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) return { status: err.status, error: err.error };
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      const body = (await err.response.json()) as { error?: string };
      return { status: err.status, error: body.error };
    }
    throw err;
  }
  throw new Error('expected the request to fail, but it succeeded');
}
