// A locked build compared with its lock: every step's diff_id, and for each one that differs, the
// files that differ (added, removed, changed, with sizes), read from both layer blobs. The locked
// blob may live in another store (verify builds in a throwaway one); when no store has it, the
// report says so instead of listing files.
import * as fs from 'node:fs';
import { parseDigest } from '../digest';
import { compareSummaries, summariseTar, type EntrySummary } from '../lock/drift';
import type { Lock, LockLayer } from '../lock/types';
import type { Store } from '../store/store';
import type { StepComparison, VerifyReport } from './events';
import { formatPos, stepLabel, type EnvironmentSpec } from './model';

function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    fs.readSync(fd, b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

async function summaryOf(
  stores: Store[],
  layer: LockLayer,
  where: string,
): Promise<Map<string, EntrySummary> | undefined> {
  const d = parseDigest(layer.digest, where);
  const store = stores.find((s) => s.hasBlob(d));
  if (!store) return undefined;
  const file = store.blobPath(d);
  return summariseTar(fs.createReadStream(file, { highWaterMark: 1 << 20 }), isGzip(file), where);
}

export interface CompareRequest {
  spec: EnvironmentSpec;
  lock: Lock;
  built: Lock;
  /** Where to find the blobs: the build's store first, then e.g. the user's store. */
  stores: Store[];
}

export async function compareWithLock(req: CompareRequest): Promise<VerifyReport> {
  const steps: StepComparison[] = [];
  for (let i = 0; i < req.built.steps.length; i++) {
    const built = req.built.steps[i];
    const locked = req.lock.steps[i];
    const step = req.spec.steps[i];
    const cmp: StepComparison = {
      index: i + 1,
      label: stepLabel(step),
      at: formatPos(step.pos),
      lockedDiffId: locked?.layer.diffId ?? '(none)',
      builtDiffId: built.layer.diffId,
      reproduced: locked?.layer.diffId === built.layer.diffId,
      files: [],
    };
    if (!cmp.reproduced && locked) {
      const a = await summaryOf(req.stores, locked.layer, `locked layer of step ${i + 1}`);
      const b = await summaryOf(req.stores, built.layer, `rebuilt layer of step ${i + 1}`);
      if (a && b) cmp.files = compareSummaries(a, b);
      else
        cmp.note = `the locked layer ${locked.layer.digest} is not in this store, so its files cannot be listed; pull or build the locked image here to see them`;
    }
    steps.push(cmp);
  }
  const reproduced = steps.every((s) => s.reproduced) && req.lock.steps.length === req.built.steps.length;
  return {
    status: reproduced ? 'reproduced' : 'drift',
    manifest: { locked: req.lock.image.manifest, built: req.built.image.manifest },
    steps,
  };
}
