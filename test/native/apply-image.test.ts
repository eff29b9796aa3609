// A real image layer, end to end: the blob is fetched from the test registry (made by umoci, pushed
// by skopeo), read by the layer codec, written by strata-box apply, and scanned back; every entry
// of the tar must come back with its type, mode, size, data digest and link target (and, as root,
// its owner), with its modification time. Debian bookworm when seeded (STRATA_TEST_DEBIAN=0 gives busybox).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { readLayer } from '../../server/src/engine/layer/read';
import { applyEntries } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData } from '../../server/src/engine/sandbox/entry';
import { scanUpperDir } from '../../server/src/engine/sandbox/scan';
import { isRoot, makeTempDir, removeTree, requirePrerequisites, sharedRegistry, strataBox } from '../support';

async function layerBlob(registry: string, repo: string, tag: string): Promise<Buffer> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200, `manifest of ${repo}:${tag}`);
  const manifest = (await res.json()) as { layers: { digest: string }[] };
  assert.equal(manifest.layers.length, 1);
  const blob = await fetch(`http://${registry}/v2/${repo}/blobs/${manifest.layers[0].digest}`);
  assert.equal(blob.status, 200);
  return Buffer.from(await blob.arrayBuffer());
}

/** One line per entry: what must survive apply and scan. */
async function describeAll(entries: AsyncIterable<EntryWithData>, owners: boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { entry, data } of entries) {
    if (entry.path === '.') continue; // the root is the store's, not the layer's
    let digest = '';
    if (entry.type === 'file') {
      const h = createHash('sha256');
      if (data instanceof Uint8Array) h.update(data);
      else if (data) for await (const c of data) h.update(c);
      digest = h.digest('hex').slice(0, 16);
    }
    const kind = entry.type === 'hardlink' ? 'file' : entry.type;
    const owner = owners ? ` ${entry.uid}:${entry.gid}` : '';
    const link = entry.type === 'symlink' ? ` -> ${entry.linkname}` : '';
    // A hardlink entry carries no time of its own in the tar: its inode's is the file's.
    const time = entry.type === 'hardlink' ? '' : ` t${Math.floor(entry.mtime)}`;
    out.set(entry.path, `${kind} ${entry.mode.toString(8)}${owner}${link}${time}${digest ? ` ${digest}` : ''}`);
  }
  return out;
}

describe('strata-box apply of a real image layer', function () {
  let tmp: string;
  before(function () {
    requirePrerequisites(this, { files: [strataBox], commands: ['docker-registry', 'skopeo', 'umoci'] });
  });
  beforeEach(function () {
    tmp = makeTempDir('image');
  });
  afterEach(function () {
    removeTree(tmp);
  });

  it('unpacks the layer and scans back every entry unchanged', async function () {
    this.timeout(300000);
    const registry = await sharedRegistry();
    const debian = process.env.STRATA_TEST_DEBIAN !== '0';
    const blob = debian
      ? await layerBlob(registry.host, 'library/debian', 'bookworm')
      : await layerBlob(registry.host, 'library/busybox', 'latest');
    const read = () => readLayer(Readable.from([blob]), { compression: 'gzip', where: 'test layer' });

    const summary = await applyEntries(tmp, read());
    assert.equal(summary.skippedDevices, 0);
    const fromTar = await describeAll(read(), isRoot());

    // Hardlinks: the tar names one path with data and the others as links; scan picks the first
    // path in byte order. Both are "a file with this content", which is what must survive.
    const linkTargets = new Map<string, string>();
    for await (const { entry } of read())
      if (entry.type === 'hardlink') linkTargets.set(entry.path, entry.linkname!);
    for (const [p, target] of linkTargets) {
      const data = fromTar.get(target)!;
      fromTar.set(p, data);
    }
    const fromScan = await describeAll(
      // As root the tree holds the layer's own owners; rootless they are not compared.
      scanUpperDir(tmp),
      isRoot(),
    );
    const fromScanFixed = new Map(fromScan);
    // Scan reports later links of an inode as hardlinks to the first; give them the data line.
    for await (const { entry } of scanUpperDir(tmp))
      if (entry.type === 'hardlink') fromScanFixed.set(entry.path, fromScan.get(entry.linkname!)!);

    assert.ok(fromTar.size > (debian ? 4000 : 250), `only ${fromTar.size} entries`);
    const missing = [...fromTar.keys()].filter((p) => !fromScanFixed.has(p));
    const extra = [...fromScanFixed.keys()].filter((p) => !fromTar.has(p));
    assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] });
    const differing = [...fromTar].filter(([p, d]) => fromScanFixed.get(p) !== d).slice(0, 10);
    assert.deepEqual(
      differing.map(([p, d]) => `${p}: tar ${d} / scan ${fromScanFixed.get(p)}`),
      [],
    );
    if (debian) assert.ok(summary.bytes > 50_000_000, `${summary.bytes} bytes`);
  });
});
