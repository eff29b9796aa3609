// Reproducibility advice: commands that build fine today and differently tomorrow. Warnings, each
// with the reason, never errors: the user may know better.
import type { NetworkMode } from '../model';
import { report, type ReadContext } from './context';

/** The span of `needle` inside the node's source, or the whole node (block scalars shift text). */
function locate(ctx: ReadContext, needle: string, span: [number, number]): [number, number] {
  const at = ctx.text.indexOf(needle, span[0]);
  if (at >= 0 && at + needle.length <= span[1]) return [at, at + needle.length];
  return span;
}

// Shell command words split on ; && || | and newlines, good enough for advice (not for running).
function commands(script: string): string[] {
  return script
    .split(/\n|;|&&|\|\||(?<!\|)\|(?!\|)/)
    .map((c) => c.trim())
    .filter(Boolean);
}

const upgrade = /\bapt(?:-get)?\s+(?:-\S+\s+)*(upgrade|dist-upgrade|full-upgrade)\b/;
const pipeToShell = /\b(curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(sh|bash|zsh|dash|python3?|perl)\b/;
const checksum = /\b(sha(?:256|384|512)sum|shasum|b2sum|md5sum|gpg|gpgv|--checksum|cosign)\b/;
const pipInstall = /\b(?:python3?\s+-m\s+)?pip3?\s+install\b(.*)$/;
const networkTools =
  /\b(curl|wget|git\s+clone|git\s+fetch|git\s+pull|pip3?\s+install|apt-get\s+(?:install|update)|apt\s+(?:install|update)|conda\s+install|npm\s+install|scp|rsync|ssh)\b/;

/** Package arguments of a pip install that are not pinned to one version. */
function unpinnedPipArgs(args: string): string[] {
  const words = args.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i].replace(/^['"]|['"]$/g, '');
    if (w.startsWith('-')) {
      // Options that take a value: skip the value too. -r FILE is a requirements file (its pins
      // are the user's business), -e . and local paths are the user's own code.
      if (
        /^(-r|--requirement|-c|--constraint|-e|--editable|-i|--index-url|--extra-index-url|-f|--find-links|--target|-t|--prefix|--root)$/.test(
          w,
        )
      )
        i++;
      continue;
    }
    if (/^[./~]/.test(w) || w.includes('/') || w.endsWith('.whl') || w.endsWith('.tar.gz')) continue;
    if (/(===?)[^*]+$/.test(w) && !w.includes('*')) continue;
    out.push(w);
  }
  return out;
}

export function adviseRunStep(
  ctx: ReadContext,
  script: string,
  span: [number, number],
  network: NetworkMode,
): void {
  for (const cmd of commands(script)) {
    const up = upgrade.exec(cmd);
    if (up) {
      report(
        ctx,
        'warning',
        'apt-upgrade',
        locate(ctx, up[0], span),
        `'${up[0]}' installs whatever is newest on the day of the build, so two builds differ; list the packages you need in an apt step, whose exact versions go into strata.lock`,
      );
    }
    const pip = pipInstall.exec(cmd);
    if (pip) {
      const loose = unpinnedPipArgs(pip[1]);
      if (loose.length > 0) {
        report(
          ctx,
          'warning',
          'unpinned-pip',
          locate(ctx, pip[0].trim(), span),
          `pip installs the newest ${loose.join(', ')} on the day of the build; use a pip step (its versions and hashes go into strata.lock) or pin each one, e.g. ${loose[0].replace(/[<>=~!].*$/, '')}==VERSION`,
        );
      }
    }
  }
  // A pipe splits commands, so look for `curl … | sh` in the whole script, line by line.
  for (const line of script.split('\n')) {
    const m = pipeToShell.exec(line);
    if (m && !checksum.test(script)) {
      report(
        ctx,
        'warning',
        'unchecked-download',
        locate(ctx, m[0], span),
        `${m[1]} … | ${m[2]} runs whatever the server sends today; the lock cannot pin it. Download to a file, check it with 'sha256sum -c', then run it`,
      );
    }
  }
  if (network === 'none') {
    const m = networkTools.exec(script);
    if (m) {
      report(
        ctx,
        'warning',
        'network-none',
        locate(ctx, m[0], span),
        `this step has network: none, so '${m[0]}' cannot reach the network; remove network: none or do the download in another step`,
      );
    }
  }
}

export function adviseWorkload(
  ctx: ReadContext,
  name: string,
  command: string[],
  span: [number, number],
  network: NetworkMode,
  networkDeclared: boolean,
): void {
  if (network !== 'none') return;
  const script = command.join(' ');
  const m = networkTools.exec(script) ?? /\bhttps?:\/\/\S+/.exec(script);
  if (!m) return;
  report(
    ctx,
    'warning',
    'network-none',
    locate(ctx, m[0].split(/\s+/)[0], span),
    `workload '${name}' has no network (${networkDeclared ? 'network: none' : 'network: none is the default for workloads'}), but its command uses '${m[0]}'; add network: host, or fetch the data in a build step`,
  );
}
