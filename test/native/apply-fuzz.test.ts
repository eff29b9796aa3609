// Random streams of entries over a tiny name space, with symlinks aimed outside and hostile paths
// mixed in. For each stream: nothing outside the target changes, and the fallback component walk
// (kernels without openat2) builds exactly the tree openat2's RESOLVE_IN_ROOT builds.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { StrataError } from '../../server/src/engine/errors';
import { applyEntries } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData } from '../../server/src/engine/sandbox/entry';
import { makeTempDir, removeTree, requirePrerequisites, strataBox } from '../support';
import { dir, file, hardlink, opaque, snapshot, symlink, whiteout } from './layer-support';

/** A tree's shape and contents, without times and inode numbers (which differ between runs). */
function shape(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(p)}`);
      else if (st.isFile()) out.push(`${rel} ${(st.mode & 0o7777).toString(8)} n${st.nlink} ${fs.readFileSync(p, 'utf8')}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else out.push(`${rel} special ${st.rdev}`);
    }
  };
  walk(root);
  return out;
}

/** One entry to make; `toString` names it, so that fast-check's counterexamples are readable. */
interface Op {
  make(outside: string): EntryWithData;
  toString(): string;
}

function op(text: string, make: (outside: string) => EntryWithData): Op {
  return { make, toString: () => text };
}

function arbOps(): fc.Arbitrary<Op[]> {
  const name = fc.constantFrom('a', 'b', 'c');
  const safePath = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
  const hostilePath = fc.constantFrom('../x', '/x', 'a/../../x', 'a//b', '.');
  const anyPath = fc.oneof({ weight: 9, arbitrary: safePath }, { weight: 1, arbitrary: hostilePath });
  // OUT is the outside directory's absolute path, UP climbs far above the target before it.
  const target = fc.constantFrom('OUT', 'OUT/secret', '../outside', '/', '..', '../..', 'a', 'b/c', '/a', 'UP');
  const resolveTarget = (t: string, outside: string) =>
    t === 'OUT' ? outside : t === 'OUT/secret' ? `${outside}/secret` : t === 'UP' ? `../../../../..${outside}` : t;
  const one: fc.Arbitrary<Op> = fc.oneof(
    anyPath.map((p) => op(`dir ${p}`, () => dir(p))),
    fc.tuple(anyPath, fc.constantFrom('x', 'yy', '')).map(([p, c]) => op(`file ${p}=${c}`, () => file(p, c))),
    fc.tuple(anyPath, target).map(([p, t]) => op(`symlink ${p}->${t}`, (o) => symlink(p, resolveTarget(t, o)))),
    fc
      .tuple(anyPath, fc.oneof(safePath, fc.constant('OUT/secret')))
      .map(([p, t]) => op(`hardlink ${p}=>${t}`, (o) => hardlink(p, resolveTarget(t, o)))),
    anyPath.map((p) => op(`whiteout ${p}`, () => whiteout(p))),
    anyPath.map((p) => op(`opaque ${p}`, () => opaque(p))),
  );
  return fc.array(one, { minLength: 1, maxLength: 12 });
}

describe('strata-box apply of random streams', function () {
  let previous: string | undefined;
  before(function () {
    requirePrerequisites(this, { files: [strataBox] });
    previous = process.env.STRATA_BOX_NO_OPENAT2;
  });
  after(function () {
    if (previous === undefined) delete process.env.STRATA_BOX_NO_OPENAT2;
    else process.env.STRATA_BOX_NO_OPENAT2 = previous;
  });

  it('never changes anything outside, and the walk builds what openat2 builds', async function () {
    this.timeout(300000);
    await fc.assert(
      fc.asyncProperty(arbOps(), async (ops) => {
        const tmp = makeTempDir('fuzz');
        try {
          const outside = path.join(tmp, 'outside');
          fs.mkdirSync(outside);
          fs.writeFileSync(path.join(outside, 'secret'), 'secret');
          const results: { outcome: string; tree: string[] }[] = [];
          for (const resolver of ['openat2', 'walk']) {
            const target = path.join(tmp, resolver);
            fs.mkdirSync(target);
            const before = snapshot(tmp, target);
            process.env.STRATA_BOX_NO_OPENAT2 = resolver === 'walk' ? '1' : '0';
            let outcome = 'ok';
            try {
              await applyEntries(
                target,
                ops.map((o) => o.make(outside)),
              );
            } catch (e) {
              assert.ok(e instanceof StrataError, `not a StrataError: ${String(e)}`);
              outcome = e.code;
            }
            // The other resolver's target is part of "outside" for this run: it must not change either.
            assert.deepEqual(snapshot(tmp, target), before, `${resolver}: something outside the target changed`);
            results.push({ outcome, tree: shape(target) });
          }
          assert.deepEqual(results[1], results[0], 'the walk and openat2 disagree');
        } finally {
          removeTree(tmp);
        }
      }),
      { numRuns: Number(process.env.STRATA_FUZZ_RUNS ?? 150) },
    );
  });
});
