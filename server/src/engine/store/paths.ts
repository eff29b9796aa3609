// Where things live under $STRATA_HOME (DESIGN §5). Every path built from a digest takes a parsed
// Digest, never a string, so a hostile "sha256:../../x" cannot become a path.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Digest } from '../digest';

/** $STRATA_HOME, else $XDG_DATA_HOME/strata, else ~/.local/share/strata. */
export function defaultStrataHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_HOME) return path.resolve(env.STRATA_HOME);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'strata');
  return path.join(env.HOME || os.homedir(), '.local', 'share', 'strata');
}

export class StorePaths {
  readonly oci: string;
  readonly ociLayout: string;
  readonly indexJson: string;
  readonly blobs: string;
  readonly layers: string;
  readonly cache: string;
  readonly runs: string;
  readonly tmp: string;
  readonly locks: string;
  /** Copy steps' content digests with the stat fingerprint they came from (build/copy-digest-cache.ts). */
  readonly copyContent: string;
  /** Build logs: NAME.log and the one before as NAME.log.1 (build/log.ts). */
  readonly logs: string;

  constructor(readonly home: string) {
    this.oci = path.join(home, 'oci');
    this.ociLayout = path.join(this.oci, 'oci-layout');
    this.indexJson = path.join(this.oci, 'index.json');
    this.blobs = path.join(this.oci, 'blobs', 'sha256');
    this.layers = path.join(home, 'layers', 'sha256');
    this.cache = path.join(home, 'cache');
    this.runs = path.join(home, 'runs');
    this.tmp = path.join(home, 'tmp');
    this.locks = path.join(home, 'tmp', 'locks');
    this.copyContent = path.join(home, 'cache', 'copy-content');
    this.logs = path.join(home, 'logs');
  }

  blob(d: Digest): string {
    return path.join(this.blobs, d.hex);
  }

  /** The unpacked tree of the layer whose uncompressed digest is `diffId`. */
  layerTree(diffId: Digest): string {
    return path.join(this.layers, diffId.hex);
  }

  /** Metadata written beside a tree when it is complete (entry counts, for fsck). */
  layerMeta(diffId: Digest): string {
    return path.join(this.layers, `${diffId.hex}.json`);
  }
}
