// Canonical forms of a spec and its steps: what the cache key, the lock's spec digest and the
// staleness check hash. The spec digest is the parser's own (lsp/spec.ts), so the editor and the CLI
// agree on when a lock is stale. Positions never take part: moving a step down a line changes nothing.
import { createHash } from 'node:crypto';
import { specDigest as lspSpecDigest, specFieldDigests, stepDigest as lspStepDigest } from '../../lsp/spec';
import type { Spec, Step } from '../../lsp/model';
import type { ConfigDef, StepDef } from './model';

/** JSON with object keys sorted at every level, no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: string | Buffer): string {
  return `sha256:${sha256Hex(data)}`;
}

/** The step as the spec defines it, without its position. */
export function canonicalStep(step: StepDef): Record<string, unknown> {
  switch (step.kind) {
    case 'run':
      return { run: step.command, network: step.network };
    case 'copy':
      return { copy: { src: step.src, dest: step.dest } };
    case 'apt':
      return { apt: step.packages };
    case 'pip':
      // The index URL is where packages come from, not what they are: the lock pins hashes.
      return { pip: step.packages };
  }
}

/** The step as one line of YAML-like text, for the lock and for reports (`apt: [python3-numpy]`). */
export function stepText(step: StepDef): string {
  switch (step.kind) {
    case 'run':
      return `run: ${step.command}${step.network === 'none' ? ' (network: none)' : ''}`;
    case 'copy':
      return `copy: { src: ${step.src}, dest: ${step.dest} }`;
    case 'apt':
      return `apt: [${step.packages.join(', ')}]`;
    case 'pip':
      return `pip: [${step.packages.join(', ')}]`;
  }
}

export function canonicalConfig(config: ConfigDef): Record<string, unknown> {
  return {
    env: config.env,
    workdir: config.workdir,
    user: config.user,
    entrypoint: config.entrypoint,
    cmd: config.cmd,
    labels: config.labels,
  };
}

/**
 * Each top-level field of the canonical spec (lsp/spec.ts canonicalSpec), hashed on its own, so
 * that a stale lock can name the fields that changed. Steps are compared one by one through their
 * text in the lock instead.
 */
export function specFields(spec: Spec): Record<string, string> {
  return specFieldDigests(spec);
}

/** The digest of the canonical spec a lock was made from (DESIGN §4; the one the editor checks). */
export function specDigest(spec: Spec): string {
  return lspSpecDigest(spec);
}

/** The digest of one step's canonical definition, as the editor computes it. */
export function stepDefinitionDigest(step: Step): string {
  return lspStepDigest(step);
}
