/** The parts of an injected pod the injector tests assert on, as they come back in JSON. */
export interface Env {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}
export interface Container {
  name: string;
  image?: string;
  env?: Env[];
  restartPolicy?: string;
  args?: string[];
  lifecycle?: { postStart: { exec: { command: string[] } } };
  startupProbe?: { httpGet: { path: string; port: number } };
  readinessProbe?: { httpGet: { path: string; port: number } };
  livenessProbe?: { httpGet: { path: string; port: number } };
  securityContext?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
export interface Pod {
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; volumes?: Array<{ name: string; [key: string]: unknown }>; serviceAccountName?: string; serviceAccount?: string; dnsPolicy?: string; dnsConfig?: Record<string, unknown>; securityContext?: Record<string, unknown> };
}
