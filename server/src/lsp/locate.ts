// Finds what is under the cursor in a parsed document: the path of keys and list indices from the
// top (e.g. ['steps', 2, 'copy', 'src']), and whether the cursor is on a key or a value.
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';

export type PathSegment = string | number;

export interface Located {
  path: PathSegment[];
  /** The node under the cursor (a key scalar when `onKey`). */
  node: Node;
  onKey: boolean;
  /** [start, end) of the node under the cursor. */
  span: [number, number];
}

function contains(node: Node | null | undefined, offset: number): boolean {
  const r = node?.range;
  return !!r && r[0] <= offset && offset <= r[1];
}

export function locate(doc: { contents: unknown }, offset: number): Located | undefined {
  let node = doc.contents as Node | null;
  const path: PathSegment[] = [];
  if (!node || !contains(node, offset)) return undefined;
  for (let depth = 0; depth < 64; depth++) {
    if (isMap(node)) {
      let next: Node | undefined;
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as Node | null;
        const value = pair.value as Node | null;
        const name = isScalar(key) ? String(key.value) : '';
        if (key && contains(key, offset)) {
          return { path: [...path, name], node: key, onKey: true, span: [key.range![0], key.range![1]] };
        }
        if (value && contains(value, offset)) {
          path.push(name);
          next = value;
          break;
        }
      }
      if (!next) return { path, node, onKey: false, span: [node.range![0], node.range![1]] };
      node = next;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item as Node, offset));
      if (index < 0) return { path, node, onKey: false, span: [node.range![0], node.range![1]] };
      path.push(index);
      node = node.items[index] as Node;
    } else {
      const r = node.range!;
      return { path, node, onKey: false, span: [r[0], r[1]] };
    }
  }
  return undefined;
}
