// `strata validate [FILES...]`: the language server's checks from the command line, for CI
// pipelines and pre-commit hooks. Same service, same messages as the editor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../../engine/errors';
import { formatDiagnostic, type SpecDiagnostic } from '../../lsp/diagnostic';
import { SpecLanguageService } from '../../lsp/service';
import type { CliIO, Command } from '../command';

const usage = `usage: strata validate [FILES...] [--strict] [--json]

Checks strata.yaml specs (and strata.lock files) as the editor does: YAML syntax, unknown keys,
types, image references, package names, paths, reproducibility advice, and whether strata.lock
is stale. Prints one line per problem:

  strata.yaml:14:5: error: unknown key 'comand' in workload 'invert'; did you mean 'command'?

FILES are specs, lock files or folders holding a strata.yaml; default: strata.yaml here.

  --strict  exit 1 on warnings too
  --json    print each problem as a JSON object (NDJSON): file, line, column, severity, code, message

Exit status: 0 no errors; 1 errors (or warnings with --strict); 2 bad usage.`;

function resolveInputs(args: string[], cwd: string): string[] {
  const inputs = args.length ? args : ['.'];
  return inputs.map((a) => {
    const abs = path.resolve(cwd, a);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new StrataError(
        'SPEC',
        `${a}: no such file or folder`,
        'give the path of a strata.yaml, a strata.lock or a folder holding a strata.yaml',
      );
    }
    if (!st.isDirectory()) return abs;
    const spec = path.join(abs, 'strata.yaml');
    if (!fs.existsSync(spec))
      throw new StrataError('SPEC', `${a} has no strata.yaml`, 'give the path of the spec to check');
    return spec;
  });
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check strata.yaml (and strata.lock) and print file:line:col problems',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const strict = args.includes('--strict');
    const json = args.includes('--json');
    const unknown = args.find((a) => a.startsWith('-') && a !== '--strict' && a !== '--json');
    if (unknown)
      throw new StrataError('USAGE', `unknown option '${unknown}'`, "run 'strata validate --help'");
    const files = resolveInputs(
      args.filter((a) => !a.startsWith('-')),
      io.cwd,
    );
    const service = new SpecLanguageService({
      exists: (p) => fs.existsSync(p),
      readFile: (p) => {
        try {
          return fs.readFileSync(p, 'utf8');
        } catch {
          return undefined;
        }
      },
    });
    const color = !json && !!io.stdout.isTTY && !io.env.NO_COLOR;
    const paint: Record<string, string> = { error: '31', warning: '33', information: '36', hint: '2' };
    let errors = 0;
    let warnings = 0;
    for (const file of files) {
      const shown = path.relative(io.cwd, file) || file;
      const uri = pathToFileURL(file).href;
      service.open(uri, file, fs.readFileSync(file, 'utf8'), 1);
      const diagnostics: SpecDiagnostic[] = service.diagnostics(uri);
      service.close(uri);
      for (const d of diagnostics) {
        if (d.severity === 'error') errors++;
        if (d.severity === 'warning') warnings++;
        if (json) {
          io.stdout.write(
            JSON.stringify({
              file: shown,
              line: d.range.start.line + 1,
              column: d.range.start.character + 1,
              endLine: d.range.end.line + 1,
              endColumn: d.range.end.character + 1,
              severity: d.severity,
              code: d.code,
              message: d.message,
            }) + '\n',
          );
          continue;
        }
        const line = formatDiagnostic(shown, d);
        io.stdout.write(
          color
            ? line.replace(`: ${d.severity}: `, `: \x1b[${paint[d.severity]}m${d.severity}\x1b[0m: `) + '\n'
            : line + '\n',
        );
      }
    }
    if (!json) {
      const summary = `${files.length} file${files.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
      io.stderr.write(summary + '\n');
    }
    return errors > 0 || (strict && warnings > 0) ? 1 : 0;
  },
};
