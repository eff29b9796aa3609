// The `pip` step: installs Python distributions with the image's own pip and records name, version
// and the sha256 of every file pip installed from (pip's --report). With a lock it installs exactly
// those with --require-hashes --no-deps. Byte code is not compiled (it would differ between builds);
// the index URL comes from the step's `index-url` or the host's PIP_INDEX_URL.
import type { PipPin } from '../../lock/types';

export const NO_PIP_EXIT = 98;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const PIP_ENV_PASSED = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_TRUSTED_HOST', 'PIP_FIND_LINKS'];

/** Host settings a pip step sees: where packages come from, never what they are. */
export function pipEnv(hostEnv: NodeJS.ProcessEnv, indexUrl?: string): Record<string, string> {
  const env: Record<string, string> = {
    PIP_NO_CACHE_DIR: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_BREAK_SYSTEM_PACKAGES: '1',
    PIP_ROOT_USER_ACTION: 'ignore',
    PIP_NO_COMPILE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  for (const k of PIP_ENV_PASSED) if (hostEnv[k]) env[k] = hostEnv[k];
  if (indexUrl) env.PIP_INDEX_URL = indexUrl;
  return env;
}

export function pipScript(packages: string[], pins?: PipPin[]): string {
  const lines = [
    'set -e',
    `command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || { echo "strata: this image has no pip (python3 -m pip)" >&2; exit ${NO_PIP_EXIT}; }`,
    'mkdir -p /.strata-step',
  ];
  if (pins && pins.length) {
    const req = pins
      .map((p) => `${p.name}==${p.version}${p.sha256 ? ` --hash=sha256:${p.sha256}` : ''}`)
      .join('\n');
    lines.push(`cat > /.strata-step/requirements.txt <<'STRATA_EOF'\n${req}\nSTRATA_EOF`);
    const hashes = pins.every((p) => p.sha256) ? '--require-hashes ' : '';
    lines.push(
      `python3 -m pip install --no-deps ${hashes}--report /.strata-step/report.json -r /.strata-step/requirements.txt`,
    );
    // Every line of a requirements file counts as requested, so pip marks the dependencies with a
    // REQUESTED file (and a RECORD line) that the unlocked install did not write: take those off.
    const requested = new Set(packages.map(requirementName));
    const deps = pins.map((p) => p.name).filter((n) => !requested.has(normalizeName(n)));
    if (deps.length) lines.push(unrequestScript(deps));
  } else {
    lines.push(
      `python3 -m pip install --report /.strata-step/report.json ${packages.map(shellQuote).join(' ')}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** PEP 503 normalised project name. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The project name of a requirement such as `obspy==1.4.1` or `numpy[extra]>=2`. */
export function requirementName(req: string): string {
  return normalizeName(/^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(req)?.[1] ?? req);
}

function unrequestScript(names: string[]): string {
  return [
    "python3 - <<'STRATA_PY'",
    'import importlib.metadata as md, pathlib',
    `for name in ${JSON.stringify(names)}:`,
    '    p = pathlib.Path(md.distribution(name)._path)',
    "    r = p / 'REQUESTED'",
    '    if r.exists():',
    '        r.unlink()',
    "        rec = p / 'RECORD'",
    "        data = rec.read_bytes().split(b'\\n')",
    "        rec.write_bytes(b'\\n'.join(l for l in data if not l.startswith((p.name + '/REQUESTED,').encode())))",
    'STRATA_PY',
  ].join('\n');
}

interface PipReport {
  install?: {
    metadata?: { name?: string; version?: string };
    download_info?: { archive_info?: { hash?: string; hashes?: Record<string, string> } };
  }[];
}

/** What pip's installation report says was installed, sorted by name. */
export function pipPinsFromReport(text: string): PipPin[] {
  const report = JSON.parse(text) as PipReport;
  const out: PipPin[] = [];
  for (const item of report.install ?? []) {
    const name = item.metadata?.name;
    const version = item.metadata?.version;
    if (!name || !version) continue;
    const info = item.download_info?.archive_info;
    const sha256 =
      info?.hashes?.sha256 ?? (info?.hash?.startsWith('sha256=') ? info.hash.slice(7) : undefined);
    out.push({ name, version, ...(sha256 ? { sha256 } : {}) });
  }
  return out.sort((a, b) =>
    a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0,
  );
}
