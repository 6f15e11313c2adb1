import type { SandboxModule } from '../core/context.ts';
import { registerAuthorize } from './authorize.ts';
import { registerTokenControl } from './control-endpoints.ts';
import { OAuthError, OAuthErrors, sendOAuthError } from './errors.ts';
import { createOAuthRuntime } from './identity.ts';
import { registerOpenIdEndpoints } from './openid-endpoints.ts';
import { registerTokenEndpoints } from './token-endpoint.ts';

/**
 * Intuit's OAuth 2.0 + OpenID Connect server on the sandbox's one host, at Intuit's paths
 * (qbo-facts "Hosts and paths"). See docs/oauth.md.
 */
export const oauthModule: SandboxModule = async (app, ctx) => {
  const rt = await createOAuthRuntime(ctx);

  // OAuth endpoints answer in OAuth's dialect; anything else goes on to the server's handler.
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof OAuthError) return sendOAuthError(reply, err);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return sendOAuthError(reply, OAuthErrors.invalidRequest((err as Error).message));
    throw err;
  });

  registerAuthorize(app, ctx, rt);
  registerTokenEndpoints(app, ctx, rt);
  registerOpenIdEndpoints(app, ctx, rt);
  await app.register(async (scoped) => registerTokenControl(scoped, ctx, rt));
};
