import type { SandboxModule } from '../core/context.ts';
import { registerAppRoutes } from './app-routes.ts';
import { registerCompanyRoutes } from './company-routes.ts';
import { registerFaultRoutes } from './fault-routes.ts';
import { registerRuntimeRoutes } from './runtime-routes.ts';
import { ControlError, sendControlError } from './validate.ts';

/**
 * The sandbox's own control API (JSON under `/_sandbox`): companies, apps, clock, the
 * request journal, limits and their counters, fault injection, health. Errors are
 * `{"error","error_description"}` with 400 for bad input, never a QBO fault.
 */
export const controlModule: SandboxModule = (app, ctx) => {
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError) return sendControlError(reply, err);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return sendControlError(
        reply,
        new ControlError(status, 'invalid_request', (err as Error).message),
      );
    console.error('[qbo-sandbox] control API error', err);
    return sendControlError(reply, new ControlError(500, 'server_error', 'Internal sandbox error'));
  });
  registerCompanyRoutes(app, ctx);
  registerAppRoutes(app, ctx);
  registerRuntimeRoutes(app, ctx);
  registerFaultRoutes(app, ctx);
};
