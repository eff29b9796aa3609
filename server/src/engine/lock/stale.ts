// Is a lock still the lock of this spec? When not, say which fields changed, in the spec's terms
// (`from`, `env`, `steps[3]`), so that `strata build --locked` can refuse with a useful message.
import { specDigest, specFields, stepText } from '../build/canonical';
import type { EnvironmentSpec } from '../build/model';
import type { Lock } from './types';

export interface Staleness {
  stale: boolean;
  /** Fields that differ between the spec and the lock, e.g. ["from", "steps[2] (changed)"]. */
  changed: string[];
}

export function lockStaleness(spec: EnvironmentSpec, lock: Lock): Staleness {
  if (specDigest(spec.source) === lock.spec.digest) return { stale: false, changed: [] };
  const changed: string[] = [];
  const now = specFields(spec.source);
  for (const key of [...new Set([...Object.keys(now), ...Object.keys(lock.spec.fields)])].sort()) {
    if (now[key] !== lock.spec.fields[key]) changed.push(key);
  }
  const steps = spec.steps.map(stepText);
  const locked = lock.steps.map((s) => s.step);
  for (let i = 0; i < Math.max(steps.length, locked.length); i++) {
    if (i >= locked.length) changed.push(`step ${i + 1} added (${steps[i]})`);
    else if (i >= steps.length) changed.push(`step ${i + 1} removed (${locked[i]})`);
    else if (steps[i] !== locked[i]) changed.push(`step ${i + 1} (${locked[i]} -> ${steps[i]})`);
  }
  if (changed.length === 0) changed.push('spec (format)');
  return { stale: true, changed };
}
