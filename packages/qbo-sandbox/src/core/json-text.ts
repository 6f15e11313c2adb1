import type { QboObject } from './company.ts';

/**
 * The JSON text of each stored object, UTF-8 encoded, made the first time it is served.
 * Serialising a 1,000-row query page afresh on every request (1.5 MB of JSON.stringify,
 * then measuring and encoding the string to send it) was most of the sandbox's CPU when a
 * client pages through a large company with several requests in flight.
 *
 * Keyed by the object itself: a stored object is never changed in place, every write
 * stores a new one (`Company.put`), so a write leaves the old text to be collected and the
 * next read serialises the new object.
 */
const texts = new WeakMap<QboObject, Buffer>();

/** `JSON.stringify(data)` of a stored object as UTF-8, serialised once per stored version. */
export function storedJson(data: QboObject): Buffer {
  let text = texts.get(data);
  if (text === undefined) {
    text = Buffer.from(JSON.stringify(data), 'utf8');
    texts.set(data, text);
  }
  return text;
}

/**
 * A response body that is already the UTF-8 text of a JSON object, in chunks to be sent
 * one after the other (see `sendQbo`), so a page is never copied into one big string.
 */
export class JsonObjectText {
  constructor(readonly chunks: readonly Buffer[]) {}

  static of(text: string): JsonObjectText {
    return new JsonObjectText([Buffer.from(text, 'utf8')]);
  }
}
