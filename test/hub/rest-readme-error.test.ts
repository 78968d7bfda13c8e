import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { callUnary } from '../../src/wire/registry-client.js';
import { toStruct } from '../../src/wire/struct.js';
import { rejectsWith, startGrpcHub } from '../helpers/grpc-hub.js';
import { call, startRestServer } from '../helpers/http-rest-server.js';

// The README's example of a refused service config, run as written: the answer shown must be
// the one REST really gives, and what it says of gRPC must hold too.
const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('Over REST the body is the config itself'));
const example = /curl -X PUT http:\/\/127\.0\.0\.1:15080(\S+) -H "Authorization: Bearer \$OUTRIGGER_TOKEN" \\\n\s+-H 'Content-Type: application\/json' -d '([^']+)'\n```\n\n```json\n(.+)\n```/.exec(section);

test('the README shows the REST error for a bad service config as REST answers it', async (t) => {
  t.truthy(example, 'the README has the example: a curl command, then the answer');
  const [, route, body, shown] = example!;
  const server = await startRestServer();
  t.teardown(() => server.close());
  const r = await call(server, 'PUT', route!, JSON.parse(body!));
  t.is(r.status, 400);
  t.is(r.text.trimEnd(), shown!, 'the body as sent, up to its final newline');
  t.is(server.registry.getService('shop.local', 'cart'), undefined, 'nothing changed');

  const other = await call(server, 'PUT', route!, { lb_policy: 'consistent_hash', lb_options: { hash_on: 'cookie' } });
  t.true(section.includes(`\`${other.json.error.message as string}\``), other.json.error.message);
});

test('over gRPC the same error names the field under config', async (t) => {
  const [, , body] = example!;
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const err = await rejectsWith(
    t,
    callUnary(hub.client, 'PutService', { namespace: 'shop.local', name: 'cart', config: toStruct(JSON.parse(body!) as Record<string, unknown>) }),
    grpc.status.INVALID_ARGUMENT,
    'config.outlier_detection.max_ejection_percent',
  );
  t.true(section.includes('`config.outlier_detection.max_ejection_percent`'), err.details);
});
