// Small builders for store tests: a two-layer image made by our own writer, named in a store.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { putImage } from '../../../server/src/engine/image/builder';
import type { Descriptor } from '../../../server/src/engine/image/types';
import { workspaceEntries } from '../../../server/src/engine/layer/workspace';
import { writeLayer, WrittenLayer } from '../../../server/src/engine/layer/write';
import type { Store } from '../../../server/src/engine/store/store';

export interface DemoImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: WrittenLayer[];
}

/** Layer 1: /opt/app/{a.txt,gone.txt,run.sh,link}; layer 2 deletes gone.txt and adds b.txt. */
export async function makeDemoImage(
  store: Store,
  workspace: string,
  name = 'strata/demo',
  text = 'hello',
): Promise<DemoImage> {
  const src = path.join(workspace, 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), text);
  fs.writeFileSync(path.join(src, 'gone.txt'), 'bye');
  fs.writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  if (!fs.existsSync(path.join(src, 'link'))) fs.symlinkSync('a.txt', path.join(src, 'link'));
  const l1 = await writeLayer(
    store,
    workspaceEntries({ root: workspace, src: 'src', dest: '/opt/app', epoch: 1_700_000_000 }),
  );
  const base = { uid: 0, gid: 0, mtime: 1_700_000_000 };
  const l2 = await writeLayer(store, [
    { entry: { ...base, type: 'dir', path: 'opt', mode: 0o755 } },
    { entry: { ...base, type: 'dir', path: 'opt/app', mode: 0o755 } },
    {
      entry: { ...base, type: 'file', path: 'opt/app/b.txt', mode: 0o644, size: 2 },
      data: Buffer.from('b\n'),
    },
    { entry: { ...base, type: 'whiteout', path: 'opt/app/gone.txt', mode: 0 } },
  ]);
  const r = await putImage(
    store,
    {
      architecture: 'amd64',
      os: 'linux',
      created: '2023-11-14T22:13:20Z',
      layers: [l1, l2],
      config: { Cmd: ['/bin/sh'] },
    },
    name,
  );
  return { ...r, layers: [l1, l2] };
}
