// An oracle for "the store is valid" after crashes and races, independent of the code under test:
// every blob hashes to its name, no blob is writable, every named image resolves with all its
// blobs present, and skopeo (an outside judge) reads every named image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../../../server/src/engine/digest';
import { openStore } from '../../../../server/src/engine/store/store';
import { run } from './env';

export async function checkStore(home: string): Promise<string[]> {
  const problems: string[] = [];
  const blobs = path.join(home, 'oci', 'blobs', 'sha256');
  for (const name of fs.existsSync(blobs) ? fs.readdirSync(blobs) : []) {
    const file = path.join(blobs, name);
    const hex = digestOf(fs.readFileSync(file)).hex;
    if (hex !== name) problems.push(`blob ${name} hashes to ${hex}`);
    if (fs.statSync(file).mode & 0o222) problems.push(`blob ${name} is writable`);
  }
  const store = openStore(home);
  for (const { name } of store.listImages()) {
    try {
      const image = await store.resolveImage(name);
      for (const d of [image.configDigest, ...image.layers.map((l) => l.descriptor.digest)]) {
        if (!fs.existsSync(path.join(blobs, String(d).slice(7))))
          problems.push(`${name}: blob ${String(d)} missing`);
      }
      await run('skopeo', ['inspect', `oci:${path.join(home, 'oci')}:${name}`]);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}
