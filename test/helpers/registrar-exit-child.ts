/**
 * Runs one registrar on the real clock against the hub named on the command line until it is
 * registered and heartbeating, then ends it (`stop` or `deregister`, as told), checks that no
 * socket is left open while the hub is still up, and returns without process.exit(). The test
 * that spawns this expects the process to exit by itself.
 */
import { Registrar } from '../../src/sidecar/registrar.js';
import { until } from './wait.js';

const [hub, mode] = process.argv.slice(2);
if (hub === undefined || (mode !== 'stop' && mode !== 'deregister')) throw new Error('usage: registrar-exit-child <host:port> stop|deregister');

const registrar = new Registrar({
  hubs: [hub],
  registration: { id: `pod-${mode}`, service: 'echo', namespace: 'demo.local', address: '10.0.0.7', port: 8080, ttl_ms: 10_000 },
  heartbeatIntervalMs: 20,
});
const beating = new Promise<void>((resolve) => {
  let beats = 0;
  registrar.on('ack', (kind) => {
    if (kind === 'heartbeat' && ++beats === 3) resolve();
  });
});
registrar.start();
await beating;
const healthy = new Promise<void>((resolve) => registrar.on('ack', (kind) => kind === 'report_health' && resolve()));
registrar.setHealth('HEALTHY');
// stop() cuts the stream at once, dropping what the hub has not answered yet; wait for the answer.
await healthy;
if (mode === 'deregister') await registrar.deregister();
else registrar.stop();
console.log(`${mode}: ${registrar.state}`);

const LEAKS = ['TCPSocketWrap', 'TCPWRAP'];
const leaks = (): string[] => process.getActiveResourcesInfo().filter((r) => LEAKS.includes(r));
await until(`the sockets to close after ${mode}`, () => leaks().length === 0, 5000).catch(() => {
  console.log(`left open after ${mode}: ${leaks().join(', ')}`);
  process.exitCode = 1;
});
