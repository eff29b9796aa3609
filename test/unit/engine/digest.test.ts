import { strict as assert } from 'node:assert';
import { Digest, Digester, digestOf, isDigest, parseDigest } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('digest', () => {
  it('parses a sha256 digest and keeps algorithm and hex apart', () => {
    const d = parseDigest(EMPTY);
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.hex, EMPTY.slice(7));
    assert.equal(d.toString(), EMPTY);
    assert.equal(JSON.stringify({ d }), `{"d":"${EMPTY}"}`);
  });

  for (const bad of [
    'sha256:../../etc/passwd',
    'sha256:' + 'A'.repeat(64),
    'sha256:' + 'a'.repeat(63),
    'sha256:' + 'a'.repeat(65),
    'sha512:' + 'a'.repeat(128),
    'sha256:' + 'a'.repeat(63) + '/',
    EMPTY + '\n',
    ' ' + EMPTY,
    '',
  ]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 30))}… with a StrataError naming the source`, () => {
      assert.throws(
        () => parseDigest(bad, 'manifest.json'),
        (e: unknown) =>
          e instanceof StrataError && e.code === 'DIGEST' && e.message.includes('manifest.json'),
      );
      assert.equal(isDigest(bad), false);
    });
  }

  it('rejects non-strings', () => {
    assert.throws(() => parseDigest(42), StrataError);
    assert.throws(() => parseDigest(undefined), StrataError);
  });

  it('names the unsupported algorithm in the hint', () => {
    try {
      Digest.parse('sha512:' + 'a'.repeat(128));
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof StrataError && e.hint?.includes('sha512'));
    }
  });

  it('hashes incrementally the same as at once', () => {
    const h = new Digester();
    h.update(Buffer.from('hello '));
    h.update(Buffer.from('world'));
    assert.equal(h.size, 11);
    assert.ok(h.digest().equals(digestOf('hello world')));
    assert.equal(digestOf('').toString(), EMPTY);
  });
});
