import client from 'prom-client';

/**
 * prom-client's default process and Node.js metrics, under `prefix`, with conventional names.
 * prom-client adds gauges named `nodejs_active_{handles,requests,resources}_total`, and
 * `promtool check metrics` rejects a `_total` suffix on anything but a counter. Each is the sum
 * over `type` of the gauge of the same stem (`nodejs_active_handles{type}`), so it is dropped
 * (`sum without (type) (...)` gives it); a `_total` gauge without such a breakdown is renamed,
 * reading the original at scrape time.
 */
export function collectDefaultMetrics(register: client.Registry, prefix: string, options: { eventLoopMonitoringPrecision?: number } = {}): void {
  client.collectDefaultMetrics({ register, prefix, ...options });
  for (const metric of register.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; help: string; labelNames: string[]; get(): Promise<client.MetricObjectWithValues<client.MetricValue<string>>> };
    if (!(metric instanceof client.Gauge) || !m.name.endsWith('_total')) continue;
    register.removeSingleMetric(m.name);
    const stem = m.name.slice(0, -'_total'.length);
    if (register.getSingleMetric(stem) !== undefined) continue;
    new client.Gauge({
      name: stem,
      help: m.help,
      labelNames: m.labelNames,
      registers: [register],
      async collect() {
        const current = await m.get();
        this.reset();
        for (const v of current.values) this.set(v.labels, v.value);
      },
    });
  }
}
