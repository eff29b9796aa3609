// A local Python package index for pip steps (PyPI is unreachable here): two small wheels made
// with Python's zipfile (fixed timestamps, so the same bytes every time), laid out as a PEP 503
// "simple" index with sha256 fragments, served by `python3 -m http.server` on loopback.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, makeTempDir, removeTree } from '../support';

const MAKE_WHEELS = String.raw`
import base64, hashlib, os, sys, zipfile
root = sys.argv[1]
os.makedirs(os.path.join(root, 'files'), exist_ok=True)

def wheel(name, version, code, requires=()):
    dist = f"{name.replace('-', '_')}-{version}"
    pkg = name.replace('-', '_')
    files = {
        f"{pkg}/__init__.py": code,
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s" % (name, version, "".join(f"Requires-Dist: {r}\n" for r in requires)),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: strata-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for p, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record.append(f"{p},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    fname = f"{dist}-py3-none-any.whl"
    path = os.path.join(root, 'files', fname)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for p, text in files.items():
            info = zipfile.ZipInfo(p, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, text)
    sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    d = os.path.join(root, 'simple', name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'index.html'), 'w') as f:
        f.write(f'<!DOCTYPE html><html><body><a href="../../files/{fname}#sha256={sha}">{fname}</a></body></html>\n')
    return name

names = [
    wheel('strata-demo-units', '2.0', 'FACTOR = 1000\n'),
    wheel('strata-demo', '1.0', 'from strata_demo_units import FACTOR\n\ndef scale(x):\n    return x * FACTOR\n', ['strata-demo-units>=2']),
]
with open(os.path.join(root, 'simple', 'index.html'), 'w') as f:
    f.write('<!DOCTYPE html><html><body>' + ''.join(f'<a href="{n}/">{n}</a>' for n in names) + '</body></html>\n')
`;

export interface PackageIndex {
  /** e.g. http://127.0.0.1:PORT/simple */
  url: string;
  stop(): Promise<void>;
}

export async function startPackageIndex(): Promise<PackageIndex> {
  const root = makeTempDir('pypi');
  execFileSync('python3', ['-c', MAKE_WHEELS, root]);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'python3',
    ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root],
    {
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}/simple`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      removeTree(root);
    },
  };
}

export function wheelsOf(root: string): string[] {
  return fs.readdirSync(path.join(root, 'files'));
}
