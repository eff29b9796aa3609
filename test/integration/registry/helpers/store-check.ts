// An oracle for "the store is valid" after crashes and races, independent of the code under test:
// every blob hashes to its name, no blob is writable, every named image resolves with all its
// blobs present, and skopeo (an outside judge) reads every named image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../../../server/src/engine/digest';
import { openStore } from '../../../../server/src/engine/store/store';
import { run } from './env';

/** With `trees`, every named image must also have all its layer trees unpacked. */
export async function checkStore(home: string, options: { trees?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  const blobs = path.join(home, 'oci', 'blobs', 'sha256');
  for (const name of fs.existsSync(blobs) ? fs.readdirSync(blobs) : []) {
    const file = path.join(blobs, name);
    const hex = digestOf(fs.readFileSync(file)).hex;
    if (hex !== name) problems.push(`blob ${name} hashes to ${hex}`);
    if (fs.statSync(file).mode & 0o222) problems.push(`blob ${name} is writable`);
  }
  // A layer tree is renamed into place only when complete, after its sidecar: never one without.
  const layers = path.join(home, 'layers', 'sha256');
  for (const name of fs.existsSync(layers) ? fs.readdirSync(layers) : []) {
    if (!name.endsWith('.json') && !fs.existsSync(path.join(layers, `${name}.json`)))
      problems.push(`layer tree ${name} has no sidecar`);
  }
  const store = openStore(home);
  for (const { name } of store.listImages()) {
    try {
      const image = await store.resolveImage(name);
      for (const d of [image.configDigest, ...image.layers.map((l) => l.descriptor.digest)]) {
        if (!fs.existsSync(path.join(blobs, String(d).slice(7))))
          problems.push(`${name}: blob ${String(d)} missing`);
      }
      for (const l of image.layers) {
        const tree = path.join(home, 'layers', 'sha256', l.diffId.hex);
        if (options.trees && !fs.existsSync(tree))
          problems.push(`${name}: layer tree ${l.diffId.hex} missing`);
      }
      await run('skopeo', ['inspect', `oci:${path.join(home, 'oci')}:${name}`]);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}
