// The strata.yaml JSON schema (schemas/strata.schema.json), bundled: hover text and completion
// come from its descriptions and enums, so the editor and other YAML tooling say the same thing.
import schema from '../../../schemas/strata.schema.json';
import { schemaAt, type JsonSchema } from './schemaCheck';
import type { PathSegment } from './locate';

export const SPEC_SCHEMA = schema as unknown as JsonSchema;

export interface FieldDoc {
  description?: string;
  examples?: unknown[];
  enum?: unknown[];
}

/** Documentation for the field at `path` (keys and list indices from the top). */
export function fieldDoc(root: JsonSchema, path: PathSegment[]): FieldDoc | undefined {
  const s = schemaAt(root, path) as (JsonSchema & { examples?: unknown[] }) | undefined;
  if (!s) return undefined;
  return { description: s.description, examples: s.examples, enum: s.enum };
}

/** The keys a mapping at `path` may have, with their descriptions (x- patterns left out). */
export function fieldKeys(root: JsonSchema, path: PathSegment[]): { key: string; description?: string }[] {
  const s = schemaAt(root, path);
  if (!s) return [];
  const options = s.oneOf ?? s.anyOf ?? [s];
  const out: { key: string; description?: string }[] = [];
  for (const o of options) {
    const resolved = resolveRef(root, o);
    for (const [key, p] of Object.entries(resolved?.properties ?? {})) {
      if (out.some((x) => x.key === key)) continue;
      out.push({ key, description: p.description ?? resolveRef(root, p)?.description });
    }
  }
  return out;
}

function resolveRef(root: JsonSchema, s: JsonSchema): JsonSchema | undefined {
  if (!s.$ref) return s;
  const target = root.definitions?.[s.$ref.replace(/^#\/definitions\//, '')];
  return target ? { ...target, ...(s.description ? { description: s.description } : {}) } : undefined;
}
