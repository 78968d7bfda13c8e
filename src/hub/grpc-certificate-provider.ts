/**
 * The gRPC listener's certificates, fed by the TlsReloader that also feeds the REST listener.
 *
 * grpc-js's own FileWatcherCertificateProvider is not used: it hands over whatever bytes it
 * reads, and a file it cannot read (a rotation between its writes) makes grpc-js drop every new
 * connection until the next read; it polls on its own timer rather than the Clock, and says
 * nothing we could log or count. This provider only ever passes material the reloader checked,
 * so a bad file keeps the last good certificate, as on the REST listener.
 */
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from '../tls/tls-material.js';
import type { TlsReloader } from '../tls/tls-reloader.js';

type Provider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

class ReloadingCertificateProvider implements Provider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly reloader: TlsReloader) {}

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.subscribe();
    // Later, not now: grpc-js subscribes before it registers the listener that applies updates.
    process.nextTick(() => this.caListeners.has(listener) && listener(caUpdate(this.reloader.current)));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unsubscribeWhenUnused();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.subscribe();
    process.nextTick(() => this.identityListeners.has(listener) && listener(identityUpdate(this.reloader.current)));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unsubscribeWhenUnused();
  }

  private subscribe(): void {
    this.unsubscribe ??= this.reloader.onChange((material) => {
      for (const l of this.identityListeners) l(identityUpdate(material));
      for (const l of this.caListeners) l(caUpdate(material));
    });
  }

  private unsubscribeWhenUnused(): void {
    if (this.caListeners.size + this.identityListeners.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

function identityUpdate(m: TlsMaterial): grpc.experimental.IdentityCertificateUpdate {
  return { certificate: m.cert, privateKey: m.key };
}

function caUpdate(m: TlsMaterial): grpc.experimental.CaCertificateUpdate | null {
  return m.ca !== undefined ? { caCertificate: m.ca } : null;
}

/**
 * Server credentials that follow the reloader. `clientCertificates`: `none` asks for no client
 * certificate; `optional` verifies one when sent; `require` refuses a client without a verified
 * one at the handshake.
 */
export function reloadingServerCredentials(reloader: TlsReloader, clientCertificates: 'none' | 'optional' | 'require'): grpc.ServerCredentials {
  const provider = new ReloadingCertificateProvider(reloader);
  // grpc-js 1.14 names this function's parameters (ca, identity) but passes them on as
  // (identity, ca): the first is the identity provider, the second the CA provider or null.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, clientCertificates === 'none' ? null : provider, clientCertificates === 'require');
}
