import test from 'ava';
import { newRegistrar } from '../helpers/registrar-fixture.js';
import { startFreezeProxy } from '../helpers/registrar-freeze-proxy.js';
import { RestartableHub } from '../helpers/registrar-hub.js';
import { nextEvent, untilState } from '../helpers/registrar-wait.js';

test('a hub whose connection goes silent (no FIN, no RST) is noticed by keepalive, not only by heartbeats', async (t) => {
  const hub = await RestartableHub.start();
  t.teardown(() => hub.close());
  const proxy = await startFreezeProxy(hub.address);
  t.teardown(() => proxy.close());
  const registrar = newRegistrar(t, {
    hubs: [proxy.address],
    // Heartbeats and their ack bound are far away, so only the channel's keepalive can notice.
    heartbeatIntervalMs: 600_000,
    ackTimeoutMs: 600_000,
    backoff: { initialMs: 600_000 },
    channelOptions: { 'grpc.keepalive_time_ms': 200, 'grpc.keepalive_timeout_ms': 500 },
  });
  registrar.start();
  await untilState(registrar, 'registered');

  const lost = nextEvent(registrar, 'disconnected');
  proxy.freeze();
  const [reason] = await lost;
  t.regex(reason, /^UNAVAILABLE/);
  t.is(registrar.state, 'backoff');
});
