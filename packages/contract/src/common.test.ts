import { describe, expect, it } from 'vitest';
import { bigintIdInput, isoInput, textInput } from './common.ts';

// The bounds are the database's: whatever passes here, Postgres stores or compares.
describe('input helpers match what the database accepts', () => {
  it('times: years 0001 to 9999 as UTC instants, real calendar dates only', () => {
    const at = isoInput('at');
    for (const ok of [
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '2028-02-29T12:00:00+05:00',
    ]) {
      expect(at.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of [
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:30:00+01:00',
      '9999-12-31T23:30:00-01:00',
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
    ]) {
      expect(at.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('text: no NUL character, within its length', () => {
    const t = textInput('path', 5);
    expect(t.safeParse('/v3%').success).toBe(true);
    expect(t.safeParse('a\u0000b').error?.issues[0]?.message).toBe(
      'path must not contain the NUL character (%00)',
    );
    expect(t.safeParse('').success).toBe(false);
    expect(t.safeParse('abcdef').success).toBe(false);
  });

  it('ids: 1 to the largest bigint', () => {
    const id = bigintIdInput('id');
    expect(id.safeParse('9223372036854775807').success).toBe(true);
    expect(id.safeParse('1').success).toBe(true);
    for (const bad of ['0', '9223372036854775808', '99999999999999999999', '-1', '1e3', '']) {
      expect(id.safeParse(bad).success, bad).toBe(false);
    }
  });
});
