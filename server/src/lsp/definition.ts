// Go to definition on a copy or mount source: the file or folder it names, relative to the spec.
import * as path from 'node:path';
import { isScalar } from 'yaml';
import { locate } from './locate';
import type { ParsedYaml } from './yamlSource';

export interface DefinitionTarget {
  /** Absolute path of the file or folder. */
  path: string;
  /** The source text's span, to underline in the spec. */
  span: [number, number];
}

export function definitionAt(
  parsed: ParsedYaml,
  offset: number,
  specFile: string,
): DefinitionTarget | undefined {
  const at = locate(parsed.doc, offset);
  if (!at || at.onKey || !isScalar(at.node) || typeof at.node.value !== 'string') return undefined;
  const p = at.path;
  const isCopySrc = p.length === 4 && p[0] === 'steps' && p[2] === 'copy' && p[3] === 'src';
  const isMountSrc = p.length === 3 && p[0] === 'mounts' && p[2] === 'src';
  const isShortMount = p.length === 2 && p[0] === 'mounts';
  const isOutput = p.length === 4 && p[0] === 'workloads' && p[2] === 'outputs';
  if (!isCopySrc && !isMountSrc && !isShortMount && !isOutput) return undefined;
  const value = isShortMount ? at.node.value.split(':')[0] : at.node.value;
  if (value.startsWith('/') || value.startsWith('~') || value === '') return undefined;
  return { path: path.resolve(path.dirname(specFile), value), span: at.span };
}
