/**
 * Finds where JSON text stops being valid. JSON.parse's own messages differ between Node
 * versions, sometimes lack the position and sometimes quote the whole input (up to a megabyte
 * in an error message), so after JSON.parse fails we scan the text ourselves to say where and why.
 * The scanner is iterative, so deeply nested input cannot overflow the stack.
 */

export interface JsonSyntaxError {
  /** 0-based offset in characters. */
  position: number;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** What was wrong, e.g. `expected ',' or '}'`. */
  reason: string;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

type Expect = 'value' | 'value_or_end' | 'key' | 'key_or_end' | 'colon' | 'comma_or_end' | 'eof';

/** Returns the first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const stack: ('{' | '[')[] = [];
  let expect: Expect = 'value';
  let afterComma = false;
  let i = 0;

  const fail = (position: number, reason: string): JsonSyntaxError => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < position && k < text.length; k++) {
      if (text[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
    return { position, line, column: position - lineStart + 1, reason };
  };

  /** Scans a string starting at the opening quote; returns the index after the closing quote or an error. */
  const scanString = (start: number): number | JsonSyntaxError => {
    let k = start + 1;
    while (k < text.length) {
      const c = text[k]!;
      if (c === '"') return k + 1;
      if (c === '\\') {
        const e = text[k + 1];
        if (e === 'u') {
          HEX4.lastIndex = k + 2;
          if (!HEX4.test(text)) return fail(k, 'invalid \\u escape in a string (needs four hex digits)');
          k += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) return fail(k, 'invalid escape in a string');
        k += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) return fail(k, 'control character in a string (escape it)');
      k++;
    }
    return fail(start, 'unterminated string');
  };

  /** After a complete value: close containers or expect more. */
  const afterValue = (): Expect => (stack.length === 0 ? 'eof' : 'comma_or_end');

  for (;;) {
    while (i < text.length && WHITESPACE.has(text[i]!)) i++;
    if (i >= text.length) {
      return expect === 'eof' ? undefined : fail(i, stack.length === 0 && expect === 'value' ? 'empty body where a JSON value was expected' : 'unexpected end of input');
    }
    const c = text[i]!;
    const top = stack[stack.length - 1];
    const trailing = afterComma ? ' (no trailing commas)' : '';
    afterComma = false;
    switch (expect) {
      case 'eof':
        return fail(i, 'unexpected text after the JSON value');
      case 'colon':
        if (c !== ':') return fail(i, "expected ':' after a property name");
        i++;
        expect = 'value';
        continue;
      case 'comma_or_end': {
        const close = top === '{' ? '}' : ']';
        if (c === ',') {
          i++;
          expect = top === '{' ? 'key' : 'value';
          afterComma = true;
          continue;
        }
        if (c === close) {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        return fail(i, `expected ',' or '${close}'`);
      }
      case 'key_or_end':
      case 'key': {
        if (expect === 'key_or_end' && c === '}') {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        if (c !== '"') return fail(i, expect === 'key' ? `expected a property name in double quotes${trailing}` : "expected a property name in double quotes or '}'");
        const end = scanString(i);
        if (typeof end !== 'number') return end;
        i = end;
        expect = 'colon';
        continue;
      }
      case 'value_or_end':
      case 'value': {
        if (expect === 'value_or_end' && c === ']') {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        if (c === '{' || c === '[') {
          stack.push(c);
          i++;
          expect = c === '{' ? 'key_or_end' : 'value_or_end';
          continue;
        }
        if (c === '"') {
          const end = scanString(i);
          if (typeof end !== 'number') return end;
          i = end;
          expect = afterValue();
          continue;
        }
        const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
        if (word !== undefined) {
          i += word.length;
          expect = afterValue();
          continue;
        }
        NUMBER.lastIndex = i;
        if (NUMBER.test(text)) {
          i = NUMBER.lastIndex;
          // A number must end at a delimiter: "01" or "1x" are not numbers.
          const next = text[i];
          if (next !== undefined && !WHITESPACE.has(next) && !',]}'.includes(next)) return fail(i, 'invalid number');
          expect = afterValue();
          continue;
        }
        return fail(i, `expected a value${trailing}`);
      }
    }
  }
}
