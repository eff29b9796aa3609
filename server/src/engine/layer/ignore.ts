// `.strataignore`: which workspace files a copy step leaves out. The syntax is .gitignore's (and
// .dockerignore's): one pattern a line, `#` comments, `!` re-includes, a leading `/` anchors to the
// workspace root, a trailing `/` matches directories only, `*` `?` `[...]` within a name, `**`
// across folders; a pattern without a `/` (other than a trailing one) matches at any depth. The
// last matching pattern wins. Paths are relative to the folder holding `.strataignore`.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  re: RegExp;
  line: number;
}

function globToRegExp(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += '\\' + glob[++i];
    else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return re;
}

export class IgnoreRules {
  private readonly rules: Rule[] = [];

  constructor(text = '') {
    text.split('\n').forEach((raw, i) => {
      let line = raw.replace(/\r$/, '');
      if (!line.trim() || line.startsWith('#')) return;
      line = line.replace(/(?<!\\)\s+$/, '');
      let negate = false;
      if (line.startsWith('!')) {
        negate = true;
        line = line.slice(1);
      }
      let dirOnly = false;
      if (line.endsWith('/')) {
        dirOnly = true;
        line = line.replace(/\/+$/, '');
      }
      const anchored = line.includes('/');
      line = line.replace(/^\//, '');
      if (!line) return;
      const body = globToRegExp(line);
      // A match on a folder covers everything below it, as in git.
      const re = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`);
      this.rules.push({ negate, dirOnly, re, line: i + 1 });
    });
  }

  /** Reads `<root>/.strataignore` (no file: nothing ignored). */
  static load(root: string): IgnoreRules {
    try {
      return new IgnoreRules(fs.readFileSync(path.join(root, '.strataignore'), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new IgnoreRules();
      throw e;
    }
  }

  /** Is `rel` (relative to the root, '/'-separated) ignored? `isDir` for directories. */
  ignores(rel: string, isDir: boolean): boolean {
    let ignored = false;
    for (const r of this.rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.re.test(rel)) ignored = !r.negate;
    }
    return ignored;
  }

  get size(): number {
    return this.rules.length;
  }
}
