import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, ErrorCode, ErrorResponse } from '../src/index.ts';

describe('error codes', () => {
  it('the code list is the status table: every code has a status and nothing else is a code', () => {
    expect([...ErrorCode.options].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    for (const status of Object.values(ERROR_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('an error answer with a code outside the table does not match the contract', () => {
    const ok = { error: { code: 'qbo_unavailable', message: 'm' } };
    expect(ErrorResponse.safeParse(ok).success).toBe(true);
    const unknown = { error: { code: 'something_new', message: 'm' } };
    expect(ErrorResponse.safeParse(unknown).success).toBe(false);
  });
});
