// Stage 1, authenticate: the caller's credential (a JWT or a SAML assertion, in Authorization
// or x-api-key) to an identity.
import type { RequestContext } from '../context.ts';
import { rawHeader } from '../http/headers.ts';
import { AuthenticationError, IssuerUnavailableError } from '../identity/verifier.ts';
import { authenticateCaller } from '../identity/saml-credential.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/** True when the caller is verified; otherwise the request has been answered 401. */
export async function authenticate(dp: DataPath, ctx: RequestContext): Promise<boolean> {
  try {
    // From the raw headers: node keeps only the first of several Authorization headers, and
    // the verifier refuses duplicates that differ.
    const headers = { authorization: rawHeader(ctx.req, 'authorization'), 'x-api-key': rawHeader(ctx.req, 'x-api-key') };
    ctx.identity = await authenticateCaller(headers, { jwt: dp.verifier, saml: dp.saml });
    return true;
  } catch (e) {
    if (e instanceof IssuerUnavailableError) dp.log.warn({ requestId: ctx.requestId, err: e.detail }, 'identity provider unavailable');
    if (e instanceof AuthenticationError) {
      refuse(dp, ctx, 'unauthenticated', { message: e.message, code: e.code });
    } else {
      dp.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'token verification failed unexpectedly');
      refuse(dp, ctx, 'unauthenticated', { message: 'The token could not be verified; fetch a fresh token and retry.' });
    }
    return false;
  }
}
