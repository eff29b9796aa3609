// The hostile-layer list end to end: each layer is stored as a blob, then unpacked the way every
// pull and run does (ensureLayerTree: codec checks, strata-box apply in a temp dir, rename). It
// must fail naming the layer digest and the entry, leave no tree and no temp dir, and change
// nothing outside: a sentinel folder the layers aim at keeps its exact contents.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { digestOf } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import { MediaType } from '../../../server/src/engine/image/media-types';
import { ensureLayerTree } from '../../../server/src/engine/store/layer-trees';
import { openStore, Store } from '../../../server/src/engine/store/store';
import { makeTempDir, removeTree, requirePrerequisites, strataBox } from '../../support';
import { HOSTILE_CASES } from '../../unit/engine/hostile-layers';
import { gzip, rawTar } from '../../unit/engine/tar-craft';

/** A fingerprint of everything under `dir`: names, types, modes, sizes, link targets, contents. */
function fingerprint(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      h.update(`${path.relative(dir, p)} ${st.mode} ${st.size} ${st.mtimeMs}\n`);
      if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else if (st.isFile()) h.update(fs.readFileSync(p));
      else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('hostile layers through ensureLayerTree and strata-box apply', function () {
  let root: string;
  let sentinel: string;
  let store: Store;
  let original: string;
  before(function () {
    requirePrerequisites(this, { files: [strataBox] });
  });
  beforeEach(() => {
    root = makeTempDir('hostile');
    sentinel = path.join(root, 'sentinel');
    fs.mkdirSync(sentinel);
    fs.writeFileSync(path.join(sentinel, 'target'), 'original');
    fs.writeFileSync(path.join(sentinel, 'victim'), 'keep me');
    store = openStore(path.join(root, 'home'));
    original = fingerprint(sentinel);
  });
  afterEach(() => removeTree(root));

  async function attempt(blob: Buffer, diffId = digestOf(zlib.gunzipSync(blob))): Promise<unknown> {
    const { digest, size } = await store.ingestBlob([blob]);
    try {
      await ensureLayerTree(store, {
        descriptor: { mediaType: MediaType.OciLayerGzip, digest: digest.toString(), size },
        diffId,
      });
    } catch (e) {
      return e;
    }
    return undefined;
  }

  function assertNothingChanged(): void {
    assert.equal(fingerprint(sentinel), original, 'the sentinel outside the tree changed');
    assert.deepEqual(fs.readdirSync(store.paths.layers), [], 'no layer tree may be left');
    assert.deepEqual(
      fs.readdirSync(store.paths.tmp).filter((n) => n !== 'locks'),
      [],
      'no temp dir may be left',
    );
  }

  for (const c of HOSTILE_CASES) {
    it(`${c.name}: refused, nothing outside changed`, async () => {
      const blob = gzip(rawTar(c.entries(sentinel), { truncate: c.truncate }));
      const e = await attempt(blob, digestOf('not checked: the refusal comes first'));
      assert.ok(e instanceof StrataError, `expected a refusal, got ${String(e)}`);
      assert.equal(e.code, 'LAYER', e.message);
      assert.match(e.message, c.reason);
      assert.ok(e.message.includes(digestOf(blob).toString()), `${e.message} should name the layer digest`);
      assertNothingChanged();
    });
  }

  it('a gzip bomb (1 GiB of zeros) is stopped by the default limits', async () => {
    // Streamed through gzip so the test never holds the gigabyte.
    const gz = zlib.createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gz.on('data', (c: Buffer) => parts.push(c));
    const done = new Promise((r) => gz.on('end', r));
    const header = rawTar([{ name: 'zeros', data: '', size: 1 << 30 }], { truncate: true });
    gz.write(header);
    const zeros = Buffer.alloc(8 << 20);
    for (let i = 0; i < 128; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
    gz.end(Buffer.alloc(1024));
    await done;
    const blob = Buffer.concat(parts);
    const e = await attempt(blob, digestOf('x'));
    assert.ok(e instanceof StrataError && /gzip bomb/.test(e.message), String(e));
    assertNothingChanged();
  });

  it('a layer whose diff_id does not match its config is refused and leaves no tree', async () => {
    const blob = gzip(rawTar([{ name: 'f', data: 'x' }]));
    const e = await attempt(blob, digestOf('the config says something else'));
    assert.ok(e instanceof StrataError && e.code === 'DIGEST' && /diff_id/.test(e.message), String(e));
    assertNothingChanged();
  });

  it('a stored blob altered on disk is refused at unpack', async () => {
    const blob = gzip(rawTar([{ name: 'f', data: 'x'.repeat(1000) }]));
    const { digest, size } = await store.ingestBlob([blob]);
    const file = store.blobPath(digest);
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 9]! ^= 0xff; // inside the deflate data or CRC
    fs.writeFileSync(file, bytes);
    await assert.rejects(
      ensureLayerTree(store, {
        descriptor: { mediaType: MediaType.OciLayerGzip, digest: digest.toString(), size },
        diffId: digestOf(zlib.gunzipSync(blob)),
      }),
      (e: unknown) =>
        e instanceof StrataError &&
        (e.code === 'DIGEST' || e.code === 'LAYER') &&
        e.message.includes(digest.toString()),
    );
    assertNothingChanged();
  });

  it('a sound layer with the same shapes unpacks (the checks are not over-eager)', async () => {
    const blob = gzip(
      rawTar([
        { name: 'etc/', type: '5' },
        { name: 'etc/alternatives/', type: '5' },
        { name: 'etc/alternatives/editor', type: '2', linkname: '/usr/bin/vim' },
        { name: 'etc/up', type: '2', linkname: '../../../../' },
        { name: 'etc/file', data: 'x' },
        { name: 'etc/hard', type: '1', linkname: 'etc/file' },
        { name: 'etc/.wh.gone' },
        { name: 'var/.wh..wh..opq' },
        { name: 'etc/', type: '5', mode: 0o700 },
      ]),
    );
    const e = await attempt(blob);
    assert.equal(e, undefined, String(e));
    assert.equal(fingerprint(sentinel), original);
  });
});
