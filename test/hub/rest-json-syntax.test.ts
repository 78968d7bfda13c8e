import test from 'ava';
import { findJsonSyntaxError } from '../../src/http/json-syntax.js';

test('valid JSON has no syntax error, whatever its shape', (t) => {
  for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"], "b": {}} ', '"s"', '0', '[[[[]]]]']) {
    t.is(findJsonSyntaxError(text), undefined, text);
    t.notThrows(() => JSON.parse(text));
  }
});

test('the first error is found with its line, column and reason', (t) => {
  const cases: [string, number, number, number, string][] = [
    ['', 0, 1, 1, 'empty body where a JSON value was expected'],
    ['{"a":}', 5, 1, 6, 'expected a value'],
    ['{"a":1', 6, 1, 7, 'unexpected end of input'],
    ['{"a":1,}', 7, 1, 8, 'expected a property name in double quotes (no trailing commas)'],
    ['[1,2,]', 5, 1, 6, 'expected a value (no trailing commas)'],
    ["{'a': 1}", 1, 1, 2, "expected a property name in double quotes or '}'"],
    ['{"a" 1}', 5, 1, 6, "expected ':' after a property name"],
    ['{"a": 1 "b": 2}', 8, 1, 9, "expected ',' or '}'"],
    ['[1 2]', 3, 1, 4, "expected ',' or ']'"],
    ['{"a": 1}x', 8, 1, 9, 'unexpected text after the JSON value'],
    ['{"a": "x', 6, 1, 7, 'unterminated string'],
    ['{"a": "\\q"}', 7, 1, 8, 'invalid escape in a string'],
    ['{"a": "\\u12"}', 7, 1, 8, 'invalid \\u escape in a string (needs four hex digits)'],
    ['{"a": "\u0001"}', 7, 1, 8, 'control character in a string (escape it)'],
    ['{"a": 01}', 7, 1, 8, 'invalid number'],
    ['{"a": tru}', 6, 1, 7, 'expected a value'],
    ['{\n  "a": 1,\n  "b": }', 19, 3, 8, 'expected a value'],
  ];
  for (const [text, position, line, column, reason] of cases) {
    t.throws(() => JSON.parse(text), undefined, `JSON.parse agrees ${text} is invalid`);
    t.deepEqual(findJsonSyntaxError(text), { position, line, column, reason }, text);
  }
});

test('deep nesting does not overflow the stack', (t) => {
  const deep = '['.repeat(200_000) + ']'.repeat(199_999);
  t.is(findJsonSyntaxError(deep)?.reason, 'unexpected end of input');
});
