import http from 'node:http';

/**
 * Makes a few calls through a sidecar's outbound proxy (Host routing) and returns who answered
 * each, so the demo shows balancing at a glance.
 */
export async function sampleCalls(outboundPort: number, host: string, count: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const answers: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      answers.push(
        await new Promise<string>((resolve) => {
          const req = http.get({ host: '127.0.0.1', port: outboundPort, path: '/hello', headers: { host }, agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => {
              try {
                const json = JSON.parse(body) as { instance?: string; zone?: string; error?: { code: string } };
                resolve(json.instance !== undefined ? `${json.instance} (${json.zone})` : `${res.statusCode} ${json.error?.code ?? ''}`.trim());
              } catch {
                resolve(`${res.statusCode}`);
              }
            });
          });
          req.on('error', (err) => resolve(`failed: ${err.message}`));
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return answers;
}
