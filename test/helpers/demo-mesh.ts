/**
 * The demo mesh of `npm start` in this process: a hub with auth on and the anonymous policy off,
 * three echo apps and web, each beside a real sidecar, all on loopback ports picked by the OS.
 */
import { silentLogger } from '../../src/common/logger.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { startDemo, type Demo } from '../../src/demo/demo.js';
import { parseWith } from '../../src/model/parse-input.js';

export async function startDemoMesh(config: Record<string, unknown> = {}): Promise<Demo> {
  const parsed = parseWith(hubConfigSchema, { bind: '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: 'off' }, ...config }, '', 'config_invalid');
  return startDemo(parsed, silentLogger, { webAdminPort: 0, webOutboundPort: 0 });
}
