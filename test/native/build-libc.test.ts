// How strata-box and strata-front are linked (native/Makefile): static, so they run on any Linux
// without a loader, and against musl where musl-gcc exists, because glibc's start-up costs 0.7 ms
// of every run on a VM. The glibc build, used where musl is missing, must keep working too.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasCommand, makeTempDir, removeTree, repoRoot, requirePrerequisites } from '../support';
import { imageRootfs } from './images';

// What `npm run build` made, whichever binary STRATA_BOX points the other suites at (the sanitizer
// build is dynamic on purpose).
const strataBox = path.join(repoRoot, 'native', 'build', 'strata-box');
const strataFront = path.join(repoRoot, 'native', 'build', 'strata-front');
const PT_INTERP = 3;
const PT_NOTE = 4;
const NT_GNU_ABI_TAG = 1;

interface ElfFacts {
  /** The program loader it asks for (PT_INTERP), if any. */
  interpreter?: string;
  /** glibc's start files stamp every program with a GNU ABI tag note; musl's do not. */
  glibcAbiTag: boolean;
}

function elfFacts(file: string): ElfFacts {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is not an ELF file`);
  assert.equal(b[4], 2, `${file}: 64-bit ELF expected`);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  const facts: ElfFacts = { glibcAbiTag: false };
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = b.readUInt32LE(ph);
    const offset = Number(b.readBigUInt64LE(ph + 8));
    const size = Number(b.readBigUInt64LE(ph + 32));
    if (type === PT_INTERP) facts.interpreter = b.subarray(offset, offset + size).toString('latin1').replace(/\0+$/, '');
    if (type !== PT_NOTE) continue;
    for (let at = offset; at + 12 <= offset + size; ) {
      const nameSize = b.readUInt32LE(at);
      const descSize = b.readUInt32LE(at + 4);
      const noteType = b.readUInt32LE(at + 8);
      const name = b.subarray(at + 12, at + 12 + nameSize).toString('latin1').replace(/\0+$/, '');
      if (name === 'GNU' && noteType === NT_GNU_ABI_TAG) facts.glibcAbiTag = true;
      at += 12 + Math.ceil(nameSize / 4) * 4 + Math.ceil(descSize / 4) * 4;
    }
  }
  return facts;
}

describe('how strata-box is built', function () {
  this.timeout(120_000);

  before(function () {
    requirePrerequisites(this, { commands: ['make', 'gcc', 'skopeo', 'umoci'], files: [strataBox, strataFront] });
  });

  it('links strata-box and strata-front statically, and against musl where musl-gcc exists', function () {
    for (const binary of [strataBox, strataFront]) {
      const facts = elfFacts(binary);
      assert.equal(facts.interpreter, undefined, `${binary} needs the loader ${facts.interpreter}: it would not run where that is missing`);
      if (hasCommand('musl-gcc'))
        assert.equal(facts.glibcAbiTag, false, `${binary} is linked against glibc although musl-gcc exists`);
    }
    // The check itself: a dynamically linked glibc program has both marks.
    const node = elfFacts(process.execPath);
    assert.match(node.interpreter ?? '', /ld-linux/);
    assert.equal(node.glibcAbiTag, true);
  });

  it('builds and runs a container with glibc as well (make LIBC=glibc), as where musl is missing', async function () {
    const busybox = await imageRootfs('library/busybox:latest');
    const dir = makeTempDir('libc');
    try {
      execFileSync('make', ['-s', '-C', path.join(repoRoot, 'native'), `BUILD=${dir}`, 'LIBC=glibc', '-j2', `${dir}/strata-box`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      assert.equal(elfFacts(path.join(dir, 'strata-box')).glibcAbiTag, true, 'LIBC=glibc must build against glibc');
      const r = spawnSync(path.join(dir, 'strata-box'), ['run', '--rootfs', busybox, '--', '/bin/sh', '-c', 'echo $((6 * 7)) $$'], {
        encoding: 'utf8',
      });
      assert.equal(r.stderr, '');
      assert.equal(r.status, 0);
      assert.equal(r.stdout, '42 2\n'); // the workload is pid 2, under the init
    } finally {
      removeTree(dir);
    }
  });
});
