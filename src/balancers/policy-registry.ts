/**
 * Load-balancing policies by name (grpc-js's load-balancer.ts registry, as an instance rather than
 * a module global so that tests and embedders can isolate their own). Each policy validates its
 * options when the config is parsed, never when picking: a bad config fails with the field named
 * (`lb_policy`, `lb_options.choice_count`) and changes nothing.
 */
import type { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';
import type { LbPolicy } from './picker.js';

export interface PolicyDefinition<O extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  /** One line for the admin API and docs. */
  readonly description: string;
  /** The schema of `lb_options`: strict (unknown keys rejected), defaults filled in. */
  readonly options: z.ZodType<O>;
  create(options: O): LbPolicy;
}

/** The part of a cluster's config that selects the policy; other keys are ignored. */
export interface PolicySelection {
  readonly lb_policy?: unknown;
  readonly lb_options?: unknown;
}

export const DEFAULT_POLICY = 'round_robin';

export class PolicyRegistry {
  private readonly definitions = new Map<string, PolicyDefinition<Record<string, unknown>>>();

  register<O extends Record<string, unknown>>(definition: PolicyDefinition<O>): this {
    if (this.definitions.has(definition.name)) {
      throw new OutriggerError('already_exists', `a load-balancing policy named "${definition.name}" is already registered`);
    }
    this.definitions.set(definition.name, definition as unknown as PolicyDefinition<Record<string, unknown>>);
    return this;
  }

  has(name: string): boolean {
    return this.definitions.has(name);
  }

  names(): string[] {
    return [...this.definitions.keys()];
  }

  describe(): { name: string; description: string }[] {
    return [...this.definitions.values()].map((d) => ({ name: d.name, description: d.description }));
  }

  /**
   * Builds the policy a cluster config asks for: `lb_policy` (default round_robin) with its
   * `lb_options`. `prefix` names where the selection sits in a larger document, e.g. `clusters[2]`.
   */
  parse(selection: unknown, prefix = ''): LbPolicy {
    const at = (field: string): string => (prefix === '' ? field : `${prefix}.${field}`);
    if (selection !== undefined && (selection === null || typeof selection !== 'object' || Array.isArray(selection))) {
      const field = prefix === '' ? 'lb_policy' : prefix;
      throw new OutriggerError('config_invalid', `${field}: must be an object with lb_policy and lb_options`, field);
    }
    const sel = (selection ?? {}) as PolicySelection;
    const name = sel.lb_policy ?? DEFAULT_POLICY;
    return this.create(name, sel.lb_options, at('lb_policy'), at('lb_options'));
  }

  /** Builds a policy by name from raw options. */
  create(name: unknown, options: unknown, policyField = 'lb_policy', optionsField = 'lb_options'): LbPolicy {
    const definition = typeof name === 'string' ? this.definitions.get(name) : undefined;
    if (definition === undefined) {
      const shown = typeof name === 'string' ? `"${name}"` : JSON.stringify(name) ?? String(name);
      throw new OutriggerError(
        'config_invalid',
        `${policyField}: unknown load-balancing policy ${shown}; expected one of ${this.names().join(', ')}`,
        policyField,
      );
    }
    const parsed = parseWith(definition.options, options ?? {}, optionsField, 'config_invalid');
    return definition.create(parsed);
  }
}
