// Image reference parsing and normalisation, checked against the cases distribution/reference's own
// tests (normalize_test.go, reference_test.go) use.
import * as assert from 'node:assert/strict';
import {
  checkImageRef,
  familiarImageRef,
  formatImageRef,
  manifestReference,
  parseImageRef,
} from '../../../server/src/engine/image/ref';
import { StrataError } from '../../../server/src/engine/errors';

const D = 'sha256:' + 'a'.repeat(64);

describe('image references', function () {
  const normalised: [string, string][] = [
    ['debian', 'docker.io/library/debian:latest'],
    ['debian:bookworm', 'docker.io/library/debian:bookworm'],
    ['library/debian:bookworm', 'docker.io/library/debian:bookworm'],
    ['docker.io/debian', 'docker.io/library/debian:latest'],
    ['index.docker.io/library/debian:12', 'docker.io/library/debian:12'],
    ['org/tool:1.0', 'docker.io/org/tool:1.0'],
    ['ghcr.io/org/tool:v1', 'ghcr.io/org/tool:v1'],
    ['localhost/tool', 'localhost/tool:latest'],
    ['localhost:5000/a/b/c:x_y.z-1', 'localhost:5000/a/b/c:x_y.z-1'],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000/busybox:latest'],
    ['[::1]:5000/busybox:1', '[::1]:5000/busybox:1'],
    [`debian@${D}`, `docker.io/library/debian@${D}`],
    [`debian:bookworm@${D}`, `docker.io/library/debian:bookworm@${D}`],
    ['a__b/c-d---e.f_g:TAG', 'docker.io/a__b/c-d---e.f_g:TAG'],
    ['Registry.Example.COM/x', 'Registry.Example.COM/x:latest'],
  ];
  for (const [input, want] of normalised) {
    it(`normalises ${input}`, function () {
      const ref = parseImageRef(input);
      assert.equal(formatImageRef(ref), want);
      assert.equal(checkImageRef(input), undefined);
      // Normalising is idempotent.
      assert.equal(formatImageRef(parseImageRef(want)), want);
    });
  }

  it('splits registry, repository, tag and digest', function () {
    assert.deepEqual(parseImageRef(`localhost:5000/org/tool:1@${D}`), {
      registry: 'localhost:5000',
      repository: 'org/tool',
      tag: '1',
      digest: D,
    });
    assert.deepEqual(parseImageRef(`busybox@${D}`), {
      registry: 'docker.io',
      repository: 'library/busybox',
      digest: D,
    });
  });

  it('asks the registry for the digest when there is one, else the tag', function () {
    assert.equal(manifestReference(parseImageRef(`busybox:1@${D}`)), D);
    assert.equal(manifestReference(parseImageRef('busybox:1')), '1');
    assert.equal(manifestReference(parseImageRef('busybox')), 'latest');
  });

  it('gives the familiar short form back', function () {
    assert.equal(familiarImageRef(parseImageRef('docker.io/library/debian:bookworm')), 'debian:bookworm');
    assert.equal(familiarImageRef(parseImageRef('org/tool')), 'org/tool:latest');
    assert.equal(familiarImageRef(parseImageRef('ghcr.io/org/tool:1')), 'ghcr.io/org/tool:1');
  });

  const invalid: [string, RegExp, string][] = [
    ['', /empty/, ''],
    ['debian bookworm', /white space/, ' '],
    ['Debian', /not a valid repository path component/, 'Debian'],
    ['docker.io/Library/debian', /not a valid repository path component/, 'Library'],
    ['debian:', /tag after ":" is empty/, ''],
    ['debian:-x', /not a valid tag/, '-x'],
    ['debian:' + 'x'.repeat(129), /not a valid tag/, 'x'.repeat(129)],
    ['debian@sha256:abc', /exactly 64 lowercase hex digits/, 'abc'],
    ['debian@sha256:' + 'A'.repeat(64), /exactly 64 lowercase hex digits/, 'A'.repeat(64)],
    ['debian@md5:' + 'a'.repeat(32), /is not a digest/, 'md5:' + 'a'.repeat(32)],
    ['debian@', /is not a digest/, ''],
    ['a//b', /empty path component/, ''],
    ['a/b/', /empty path component/, ''],
    ['-a/b', /not a valid repository path component/, '-a'],
    ['a..b', /not a valid repository path component/, 'a..b'],
    ['localhost:port/x', /port "port" is not a number/, 'localhost:port'],
    ['bad_host.io/x', /not a valid registry host name/, 'bad_host.io'],
    [':tag', /no repository name/, ':tag'],
    ['a'.repeat(64), /looks like an image ID/, 'a'.repeat(64)],
    ['x/' + 'a'.repeat(260), /at most 255/, 'x/' + 'a'.repeat(260)],
  ];
  for (const [input, message, part] of invalid) {
    it(`refuses ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)} and points at the fault`, function () {
      const p = checkImageRef(input);
      assert.ok(p, 'expected a problem');
      assert.match(p.message, message);
      assert.ok(p.hint.length > 0);
      assert.equal(input.slice(p.start, p.end), part);
      assert.throws(
        () => parseImageRef(input),
        (e: unknown) =>
          e instanceof StrataError &&
          e.code === 'REF' &&
          e.message.includes(`"${input}"`) &&
          message.test(e.message) &&
          e.hint === p.hint,
      );
    });
  }

  it('suggests the lowercase spelling', function () {
    assert.match(checkImageRef('ghcr.io/MyOrg/tool')!.hint, /write "myorg"/);
  });
});
