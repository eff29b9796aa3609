// A temporary workspace for protocol tests: a spec, its files, and a strata.lock made with the
// build engine's own lock writer (engine/lock/format.ts), so the editor is tested against the
// format the engine really writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatLock } from '../../../server/src/engine/lock/format';
import { LOCK_VERSION, type Lock } from '../../../server/src/engine/lock/types';
import { parseSpec, specDigest, specFieldDigests, stepDigest } from '../../../server/src/lsp/spec';
import { stepLabel } from '../../../server/src/lsp/symbols';
import { makeTempDir, removeTree } from '../../support';

export const BASE_DIGEST = 'sha256:' + 'b'.repeat(64);

function fakeDigest(seed: string): string {
  let hex = '';
  for (let i = 0; hex.length < 64; i++)
    hex += ((seed.charCodeAt(i % seed.length) * (i + 7)) % 16).toString(16);
  return `sha256:${hex}`;
}

export class Workspace {
  readonly dir = makeTempDir('lsp');

  file(rel: string, text: string): string {
    const p = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  }

  uri(rel: string): string {
    return pathToFileURL(path.join(this.dir, rel)).href;
  }

  /**
   * Writes strata.lock for `specText` as the engine would after a build: digests of the spec and
   * its steps from the shared canonical form; layer digests are placeholders of the right shape.
   */
  lockFor(specText: string, rel = 'strata.lock'): Lock {
    const { spec } = parseSpec(specText);
    if (!spec) throw new Error('lockFor needs a valid spec');
    const layer = (seed: string) => ({
      digest: fakeDigest(seed + 'd'),
      diffId: fakeDigest(seed + 'i'),
      size: 1000 + seed.length,
    });
    const lock: Lock = {
      lockVersion: LOCK_VERSION,
      spec: { digest: specDigest(spec), fields: specFieldDigests(spec) },
      platform: 'linux/amd64',
      epoch: 1700000000,
      base: { ref: spec.from, digest: BASE_DIGEST, layers: [layer('base')] },
      steps: spec.steps.map((s, i) => ({
        step: stepLabel(s),
        definition: stepDigest(s),
        key: fakeDigest(`key${i}`),
        layer: layer(`step${i}`),
        ...(s.kind === 'apt' ? { apt: s.packages.map((p) => ({ name: p, version: '1.0-1' })) } : {}),
        ...(s.kind === 'pip'
          ? { pip: s.packages.map((p) => ({ name: p.split(/[=<>]/)[0], version: '1.0' })) }
          : {}),
      })),
      image: { config: fakeDigest('config'), manifest: fakeDigest('manifest') },
    };
    this.file(rel, formatLock(lock));
    return lock;
  }

  remove(): void {
    removeTree(this.dir);
  }
}
