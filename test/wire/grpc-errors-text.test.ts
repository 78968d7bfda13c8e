import test from 'ava';
import { OutriggerError } from '../../src/common/errors.js';
import { wellFormed } from '../../src/common/well-formed.js';
import { toGrpcError } from '../../src/wire/grpc-errors.js';

// Found by fuzzing PutService: a config key holding a lone surrogate reached the status message,
// grpc-js's encodeURI threw on it, and the call was never answered.
test('a status message naming client text with a lone surrogate can still be sent', (t) => {
  const err = new OutriggerError('invalid_argument', 'config.lb_policy: unknown key "a\uD800b"', 'config.lb_policy');
  const details = toGrpcError(err).details;
  t.notThrows(() => encodeURI(details));
  t.is(details, 'config.lb_policy: unknown key "a\uFFFDb"');
  t.is(wellFormed('pair \uD83D\uDE00 kept, lone \uDE00 replaced'), 'pair \uD83D\uDE00 kept, lone \uFFFD replaced');
});
