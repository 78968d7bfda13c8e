import type { XdsTypeUrl } from '../type-urls.js';

/**
 * Which streams want which resource, so that a change reaches only the streams subscribed to
 * it (by name, or through a wildcard) instead of every stream.
 */
export class SubscriptionIndex<S> {
  private readonly named = new Map<XdsTypeUrl, Map<string, Set<S>>>();
  private readonly wildcards = new Map<XdsTypeUrl, Set<S>>();

  add(type: XdsTypeUrl, name: string, stream: S): void {
    let byName = this.named.get(type);
    if (byName === undefined) this.named.set(type, (byName = new Map()));
    let streams = byName.get(name);
    if (streams === undefined) byName.set(name, (streams = new Set()));
    streams.add(stream);
  }

  delete(type: XdsTypeUrl, name: string, stream: S): void {
    const byName = this.named.get(type);
    const streams = byName?.get(name);
    if (streams === undefined) return;
    streams.delete(stream);
    if (streams.size === 0) byName!.delete(name);
  }

  setWildcard(type: XdsTypeUrl, stream: S, on: boolean): void {
    let streams = this.wildcards.get(type);
    if (streams === undefined) this.wildcards.set(type, (streams = new Set()));
    if (on) streams.add(stream);
    else streams.delete(stream);
  }

  /** Streams subscribed to `name` by name. */
  subscribers(type: XdsTypeUrl, name: string): ReadonlySet<S> {
    return this.named.get(type)?.get(name) ?? EMPTY;
  }

  /** Streams subscribed to every resource of the type. */
  wildcard(type: XdsTypeUrl): ReadonlySet<S> {
    return this.wildcards.get(type) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<never> = new Set<never>();
