// The kept bytes of an interrupted download (store/blobs.ts PartialBlob): found again by digest,
// taken over from a dead owner only, named so that gc's stale-temp rule removes what nobody resumes,
// and made a read-only blob only by commit.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf } from '../../../server/src/engine/digest';
import { PartialBlob, partialName } from '../../../server/src/engine/store/blobs';
import { pidOfTempName } from '../../../server/src/engine/store/fsutil';
import { openStore } from '../../../server/src/engine/store/store';
import { useTempStrataHome } from '../../support';

/** A pid that belonged to a process that has exited (and is, for now, not reused). */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid && !fs.existsSync(`/proc/${r.pid}`));
  return r.pid;
}

async function readAll(p: PartialBlob): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of p.kept()) parts.push(c);
  return Buffer.concat(parts);
}

describe('registry: kept bytes of interrupted downloads (PartialBlob)', function () {
  const home = useTempStrataHome();
  const blob = Buffer.from('x'.repeat(3000) + 'the end');
  const digest = digestOf(blob);

  it('is named PREFIX-<pid>-<12 hex of the digest>, the shape gc removes once the pid is gone', function () {
    const name = partialName(digest, 4242);
    assert.equal(name, `partial-4242-${digest.hex.slice(0, 12)}`);
    assert.equal(pidOfTempName(name), 4242);
  });

  it('continues a dead process’s download: its bytes are read back, then appended to', async function () {
    const store = openStore(home.home);
    const left = path.join(store.paths.tmp, partialName(digest, deadPid()));
    fs.writeFileSync(left, blob.subarray(0, 1000));
    const p = await PartialBlob.open(store.paths, digest, blob.length);
    assert.equal(p.adopted, 1000);
    assert.equal(p.file, path.join(store.paths.tmp, partialName(digest)), 'taken over under our pid');
    assert.ok(!fs.existsSync(left));
    assert.deepEqual(await readAll(p), blob.subarray(0, 1000));
    await p.append([blob.subarray(1000, 2000), blob.subarray(2000)]);
    assert.equal(await p.commit(), true);
    const stored = store.blobPath(digest);
    assert.deepEqual(fs.readFileSync(stored), blob);
    assert.equal(fs.statSync(stored).mode & 0o222, 0, 'read-only');
    assert.deepEqual(
      fs.readdirSync(store.paths.tmp).filter((f) => f !== 'locks'),
      [],
    );
  });

  it('never takes over the download of a live process', async function () {
    const store = openStore(home.home);
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    try {
      const theirs = path.join(store.paths.tmp, partialName(digest, pid));
      fs.writeFileSync(theirs, blob.subarray(0, 500));
      const p = await PartialBlob.open(store.paths, digest, blob.length);
      assert.equal(p.adopted, 0);
      assert.equal(fs.statSync(theirs).size, 500, 'left alone');
      await p.discard();
      assert.ok(!fs.existsSync(p.file));
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('starts over when the kept file is longer than the blob (it cannot be a prefix)', async function () {
    const store = openStore(home.home);
    fs.writeFileSync(
      path.join(store.paths.tmp, partialName(digest, deadPid())),
      Buffer.alloc(blob.length + 1),
    );
    const p = await PartialBlob.open(store.paths, digest, blob.length);
    assert.equal(p.adopted, 0);
    assert.equal(p.size, 0);
    assert.equal(fs.statSync(p.file).size, 0);
    await p.keep();
    assert.ok(fs.existsSync(p.file), 'keep() leaves the file for a later attempt');
  });
});
