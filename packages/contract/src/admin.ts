// The admin session: POST /api/admin/session logs a browser in with the admin token.
import { z } from 'zod';
import { Iso } from './common.ts';

export const SessionBody = z.strictObject({
  token: z.string('token is required: the ADMIN_API_TOKEN value').min(1, 'token must not be empty'),
});
export type SessionBody = z.infer<typeof SessionBody>;

export const SessionResponse = z.object({ authenticated: z.literal(true), expires_at: Iso });
export type SessionResponse = z.infer<typeof SessionResponse>;
