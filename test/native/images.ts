// Root file systems for the native tests: real images from the shared test registry, copied by
// skopeo and unpacked by umoci --rootless (so every file belongs to whoever runs the tests, as it
// does for a user unpacking an image without root). One unpack per image per test process;
// each test that writes gets its own overlay or copy.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTree, sharedRegistry } from '../support';

const run = promisify(execFile);

export type TestImage = 'library/busybox:latest' | 'library/debian:bookworm';

const unpacked = new Map<TestImage, Promise<string>>();
const toRemove: string[] = [];
process.on('exit', () => {
  for (const d of toRemove) removeTree(d);
});

/** The rootfs directory of `image`, unpacked once per process. Do not write to it. */
export function imageRootfs(image: TestImage): Promise<string> {
  let p = unpacked.get(image);
  if (!p) {
    p = unpack(image);
    unpacked.set(image, p);
  }
  return p;
}

async function unpack(image: TestImage): Promise<string> {
  const reg = await sharedRegistry();
  const dir = makeTempDir('image');
  toRemove.push(dir);
  const tag = image.split(':')[1];
  // An explicit, empty auth file: the test registry needs none, and skopeo's default places
  // (/run/containers/UID, ~/.docker) may belong to someone else on a shared machine.
  const authfile = path.join(dir, 'auth.json');
  fs.writeFileSync(authfile, '{"auths":{}}\n');
  await run('skopeo', [
    'copy',
    '-q',
    '--authfile',
    authfile,
    '--src-tls-verify=false',
    `docker://${reg.host}/${image}`,
    `oci:${dir}/oci:${tag}`,
  ]);
  await run('umoci', ['unpack', '--rootless', '--image', `${dir}/oci:${tag}`, `${dir}/bundle`], {
    maxBuffer: 64 << 20,
  });
  const rootfs = path.join(dir, 'bundle', 'rootfs');
  if (!fs.existsSync(path.join(rootfs, 'bin'))) throw new Error(`umoci unpacked no rootfs for ${image} in ${dir}`);
  return rootfs;
}

/** A fresh overlay on top of `lower`: upper and work dirs in a temp dir removed by `dispose`. */
export function freshOverlay(lower: string): { lower: string[]; upper: string; work: string; dispose(): void } {
  const dir = makeTempDir('overlay');
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  fs.mkdirSync(upper);
  fs.mkdirSync(work);
  return { lower: [lower], upper, work, dispose: () => removeTree(dir) };
}

/** A private writable copy of a rootfs (cp -a), for tests that change the image itself. */
export async function rootfsCopy(rootfs: string): Promise<{ dir: string; dispose(): void }> {
  const dir = makeTempDir('rootfs');
  await run('cp', ['-a', `${rootfs}/.`, dir]);
  return { dir, dispose: () => removeTree(dir) };
}
