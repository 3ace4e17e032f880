import { errors } from 'oidc-provider';

/** The error a lost consume race raises: a clean 400, never a second winner (notes §5). */
export function alreadyConsumed(model: string): Error {
  // PAR request objects are consumed at the authorization endpoint, not the token endpoint.
  if (model === 'PushedAuthorizationRequest') return new errors.InvalidRequestUri('request_uri already used');
  return new errors.InvalidGrant(`${model} already consumed`);
}
