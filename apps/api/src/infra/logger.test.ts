// What a person sees on a terminal and what a log collector receives: the same redaction.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './container.ts';

function capture(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      buf += chunk.toString();
      done();
    },
  });
  return { stream, text: () => buf };
}

describe('createLogger', () => {
  it('pretty: readable lines, secrets still redacted', () => {
    const out = capture();
    const log = createLogger('info', out.stream, 'pretty');
    log.info({ realmId: '9130', refresh_token: 'RT-secret-value' }, 'token refreshed');
    const text = out.text();
    expect(text).toMatch(/INFO.*token refreshed/);
    expect(text).not.toMatch(/^\{/);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('RT-secret-value');
  });

  it('json (and auto when writing to a stream): one JSON object per line, redacted', () => {
    for (const format of ['json', 'auto'] as const) {
      const out = capture();
      createLogger('info', out.stream, format).info(
        { access_token: 'AT-secret-value' },
        'called QBO',
      );
      const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
      expect(line).toMatchObject({ msg: 'called QBO', access_token: '[redacted]' });
    }
  });
});
