import { isCollection, isMap, isSeq, type Document } from 'yaml';
import { tokensOf, type JsonPatch } from './json-patch.js';

/**
 * Applies the injector's JSON Patch to a parsed YAML document in place, at `base` (the pod
 * template's path), so the document keeps its comments, key order and quoting: the same patch
 * the webhook returns, applied to the manifest a person wrote.
 */
export function applyPatchToYaml(doc: Document, base: readonly string[], patch: JsonPatch): void {
  for (const op of patch) {
    const tokens = [...base, ...tokensOf(op.path)];
    const last = tokens.pop();
    if (last === undefined) throw new Error('cannot replace the whole document');
    const parent = tokens.length === 0 ? doc.contents : doc.getIn(tokens, true);
    if (!isCollection(parent)) throw new Error(`${op.path}: the parent is not a mapping or list`);
    // Added nodes are block style; a flow parent (`env: []`) would print them on one line.
    parent.flow = false;
    const node = doc.createNode(op.value);
    if (isSeq(parent)) {
      if (last === '-') parent.items.push(node);
      else parent.items.splice(Number(last), 0, node);
    } else if (isMap(parent)) {
      parent.set(last, node);
    }
  }
}
