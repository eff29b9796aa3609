// Reading and writing strata.lock. Written by a small emitter rather than a generic YAML dumper so
// that the text is stable to the byte (fixed key order, one flow map per package, no timestamps):
// an unchanged build rewrites nothing and a changed one shows a small diff in review.
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { StrataError } from '../errors';
import { LOCK_VERSION, type AptPin, type Lock, type LockLayer, type LockStep, type PipPin } from './types';

const HEADER =
  '# strata.lock: written by `strata build`; commit it next to strata.yaml and do not edit it.\n' +
  '# `strata build --locked` rebuilds from these pins; `strata verify` checks that the digests reproduce.\n';

/** A scalar as YAML: plain when unambiguous, else a JSON (double-quoted YAML) string. */
function scalar(value: string | number): string {
  if (typeof value === 'number') return String(value);
  if (
    /^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+:~-]*$/.test(value) &&
    !/^(true|false|null|yes|no|on|off|~)$/i.test(value) &&
    !/^[-+]?[0-9.]/.test(value)
  )
    return value;
  return JSON.stringify(value);
}

function layerLine(l: LockLayer): string {
  return `{ digest: ${scalar(l.digest)}, diffId: ${scalar(l.diffId)}, size: ${l.size} }`;
}

function aptLine(p: AptPin): string {
  return `{ name: ${scalar(p.name)}, version: ${scalar(p.version)} }`;
}

function pipLine(p: PipPin): string {
  return p.sha256
    ? `{ name: ${scalar(p.name)}, version: ${scalar(p.version)}, sha256: ${scalar(p.sha256)} }`
    : `{ name: ${scalar(p.name)}, version: ${scalar(p.version)} }`;
}

export function formatLock(lock: Lock): string {
  const out: string[] = [HEADER.trimEnd()];
  out.push(`lockVersion: ${lock.lockVersion}`);
  out.push('spec:');
  out.push(`  digest: ${scalar(lock.spec.digest)}`);
  out.push('  fields:');
  for (const k of Object.keys(lock.spec.fields).sort()) out.push(`    ${k}: ${scalar(lock.spec.fields[k])}`);
  out.push(`platform: ${scalar(lock.platform)}`);
  out.push(`epoch: ${lock.epoch}`);
  out.push('base:');
  out.push(`  ref: ${scalar(lock.base.ref)}`);
  if (lock.base.digest) out.push(`  digest: ${scalar(lock.base.digest)}`);
  out.push(lock.base.layers.length ? '  layers:' : '  layers: []');
  for (const l of lock.base.layers) out.push(`    - ${layerLine(l)}`);
  out.push(lock.steps.length ? 'steps:' : 'steps: []');
  for (const s of lock.steps) {
    out.push(`  - step: ${JSON.stringify(s.step)}`);
    out.push(`    definition: ${scalar(s.definition)}`);
    out.push(`    key: ${scalar(s.key)}`);
    out.push(`    layer: ${layerLine(s.layer)}`);
    if (s.apt) {
      out.push(s.apt.length ? '    apt:' : '    apt: []');
      for (const p of s.apt) out.push(`      - ${aptLine(p)}`);
    }
    if (s.pip) {
      out.push(s.pip.length ? '    pip:' : '    pip: []');
      for (const p of s.pip) out.push(`      - ${pipLine(p)}`);
    }
  }
  out.push('image:');
  out.push(`  config: ${scalar(lock.image.config)}`);
  out.push(`  manifest: ${scalar(lock.image.manifest)}`);
  return out.join('\n') + '\n';
}

// ---- reading -------------------------------------------------------------------------------

const DIGEST = /^sha256:[0-9a-f]{64}$/;

class LockReader {
  constructor(readonly file: string) {}

  fail(where: string, expected: string): never {
    throw new StrataError(
      'LOCK',
      `${this.file}: ${where}: expected ${expected}`,
      'the lock is written by `strata build`; delete it and build again to write a new one',
    );
  }

  obj(v: unknown, where: string): Record<string, unknown> {
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(where, 'a mapping');
    return v as Record<string, unknown>;
  }
  arr(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, 'a list');
    return v;
  }
  str(v: unknown, where: string): string {
    if (typeof v !== 'string' || v === '') this.fail(where, 'a string');
    return v;
  }
  int(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(where, 'a whole number');
    return v;
  }
  digest(v: unknown, where: string): string {
    const s = this.str(v, where);
    if (!DIGEST.test(s)) this.fail(where, 'a digest sha256:<64 hex digits>');
    return s;
  }
  layer(v: unknown, where: string): LockLayer {
    const o = this.obj(v, where);
    return {
      digest: this.digest(o.digest, `${where}.digest`),
      diffId: this.digest(o.diffId, `${where}.diffId`),
      size: this.int(o.size, `${where}.size`),
    };
  }
}

export function parseLock(text: string, file: string): Lock {
  const r = new LockReader(file);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new StrataError(
      'LOCK',
      `${file}: not valid YAML: ${(e as Error).message}`,
      'delete it and run `strata build` to write a new one',
      { cause: e },
    );
  }
  const top = r.obj(raw, 'the file');
  const version = r.int(top.lockVersion, 'lockVersion');
  if (version !== LOCK_VERSION)
    throw new StrataError(
      'LOCK',
      `${file}: lockVersion ${version} is not supported (this Strata reads ${LOCK_VERSION})`,
      'upgrade Strata, or rebuild without --locked to rewrite the lock',
    );
  const spec = r.obj(top.spec, 'spec');
  const fieldsRaw = r.obj(spec.fields ?? {}, 'spec.fields');
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(fieldsRaw)) fields[k] = r.str(String(v), `spec.fields.${k}`);
  const base = r.obj(top.base, 'base');
  const image = r.obj(top.image, 'image');
  const steps = r.arr(top.steps ?? [], 'steps').map((v, i): LockStep => {
    const where = `steps[${i}]`;
    const o = r.obj(v, where);
    const step: LockStep = {
      step: r.str(o.step, `${where}.step`),
      definition: r.digest(o.definition, `${where}.definition`),
      key: r.digest(o.key, `${where}.key`),
      layer: r.layer(o.layer, `${where}.layer`),
    };
    if (o.apt !== undefined)
      step.apt = r.arr(o.apt, `${where}.apt`).map((p, j) => {
        const po = r.obj(p, `${where}.apt[${j}]`);
        return {
          name: r.str(po.name, `${where}.apt[${j}].name`),
          version: r.str(String(po.version), `${where}.apt[${j}].version`),
        };
      });
    if (o.pip !== undefined)
      step.pip = r.arr(o.pip, `${where}.pip`).map((p, j) => {
        const po = r.obj(p, `${where}.pip[${j}]`);
        const pin: PipPin = {
          name: r.str(po.name, `${where}.pip[${j}].name`),
          version: r.str(String(po.version), `${where}.pip[${j}].version`),
        };
        if (po.sha256 !== undefined) pin.sha256 = r.str(po.sha256, `${where}.pip[${j}].sha256`);
        return pin;
      });
    return step;
  });
  return {
    lockVersion: version,
    spec: { digest: r.digest(spec.digest, 'spec.digest'), fields },
    platform: r.str(top.platform, 'platform'),
    epoch: r.int(top.epoch, 'epoch'),
    base: {
      ref: r.str(base.ref, 'base.ref'),
      ...(base.digest !== undefined ? { digest: r.digest(base.digest, 'base.digest') } : {}),
      layers: r.arr(base.layers ?? [], 'base.layers').map((l, i) => r.layer(l, `base.layers[${i}]`)),
    },
    steps,
    image: {
      config: r.digest(image.config, 'image.config'),
      manifest: r.digest(image.manifest, 'image.manifest'),
    },
  };
}

/** The lock beside a spec: strata.yaml → strata.lock, foo.strata.yaml → foo.strata.lock. */
export function lockPathFor(specFile: string): string {
  return specFile.replace(/\.ya?ml$/, '') + '.lock';
}

export function readLock(file: string): Lock | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseLock(text, file);
}

/**
 * Writes the lock only when its text changes (no churn: the file's mtime and the user's git status
 * stay untouched by a no-change build). Atomic: temp file in the same folder, then rename.
 */
export function writeLockIfChanged(file: string, lock: Lock): 'written' | 'unchanged' {
  const text = formatLock(lock);
  try {
    if (fs.readFileSync(file, 'utf8') === text) return 'unchanged';
  } catch {
    /* no lock yet */
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return 'written';
}
