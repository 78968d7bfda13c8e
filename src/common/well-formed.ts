/**
 * A string with every lone UTF-16 surrogate replaced by U+FFFD. Client text (a fuzzed key, a
 * bad name) can hold one, and `encodeURI`, which grpc-js applies to every status message,
 * throws on it: the call would then never be answered.
 */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
