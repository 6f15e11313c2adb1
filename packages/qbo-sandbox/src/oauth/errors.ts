/** An OAuth endpoint error, written as `{"error": …, "error_description"?: …}`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; error_description?: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(`${body.error}${body.error_description ? `: ${body.error_description}` : ''}`);
  }
}

export const OAuthErrors = {
  /** docs + intuit-oauth mocks: 400 {"error_description":"Token invalid","error":"invalid_grant"} */
  invalidGrant: (description = 'Token invalid'): OAuthError =>
    new OAuthError(400, { error_description: description, error: 'invalid_grant' }),
  /** 401 {"error":"invalid_client"} */
  invalidClient: (): OAuthError => new OAuthError(401, { error: 'invalid_client' }),
  invalidRequest: (description: string): OAuthError =>
    new OAuthError(400, { error: 'invalid_request', error_description: description }),
  unsupportedGrantType: (): OAuthError => new OAuthError(400, { error: 'unsupported_grant_type' }),
} as const;
