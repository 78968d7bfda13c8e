import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this file whether it runs from src/ (tsx) or dist/src/. */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (path.basename(dir) === 'src') {
      const parent = path.dirname(dir);
      return path.basename(parent) === 'dist' ? path.dirname(parent) : parent;
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot locate the outrigger package root');
}

export const PACKAGE_ROOT = findRoot();
export const PROTO_DIR = path.join(PACKAGE_ROOT, 'proto');

const require = createRequire(import.meta.url);

/** Envoy's and xDS's .proto trees, as shipped by @grpc/grpc-js-xds (never copied into this repo). */
export function envoyProtoDirs(): string[] {
  const pkg = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(pkg, 'deps', d));
}
