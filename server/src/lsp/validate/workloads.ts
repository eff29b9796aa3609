// Reads `workloads:` (named commands with their resources and network) and `mounts:`.
import { isMap, isScalar, isSeq } from 'yaml';
import {
  MOUNT_KEYS,
  NETWORK_MODES,
  RESOURCE_KEYS,
  WORKLOAD_KEYS,
  type Mount,
  type Resources,
  type Workload,
} from '../model';
import { checkCpus, checkEnvName, checkHostPath, checkWorkloadName, parseMemory } from '../values';
import { describeNode } from '../yamlSource';
import { adviseWorkload } from './advice';
import {
  checkDest,
  isNull,
  readBoolean,
  readEnum,
  readMap,
  readStringMap,
  readText,
  readTextList,
  report,
  scalarText,
  spanOf,
  rangeOf,
  type ReadContext,
} from './context';
import { checkHostSource } from './steps';

export function readWorkloads(
  ctx: ReadContext,
  node: unknown,
  at: [number, number],
): Record<string, Workload> {
  const out: Record<string, Workload> = {};
  if (isNull(node)) return out;
  const entries = readMap(ctx, node, 'workloads', undefined, at);
  if (!entries) return out;
  for (const e of entries.values()) {
    const bad = checkWorkloadName(e.key);
    if (bad) report(ctx, 'error', 'bad-name', e.keySpan, bad);
    const span: [number, number] = [e.keySpan[0], e.span[1]];
    const w = readWorkload(ctx, e.key, e.value, span, e.keySpan);
    if (w) out[e.key] = w;
  }
  return out;
}

function readWorkload(
  ctx: ReadContext,
  name: string,
  node: unknown,
  span: [number, number],
  keySpan: [number, number],
): Workload | undefined {
  if (isScalar(node) || isSeq(node)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(node, keySpan),
      `workload '${name}' should be a mapping with command:, not ${describeNode(node)}`,
      [
        {
          title: 'Put it under command:',
          edits: [
            { start: spanOf(node, keySpan)[0], end: spanOf(node, keySpan)[0], newText: `{ command: ` },
            { start: spanOf(node, keySpan)[1], end: spanOf(node, keySpan)[1], newText: ' }' },
          ],
        },
      ],
    );
    return undefined;
  }
  const misspelt = new Set<string>();
  const fields = readMap(ctx, node, `workload '${name}'`, WORKLOAD_KEYS, keySpan, misspelt);
  if (!fields) return undefined;
  const commandEntry = fields.get('command');
  let command: string[] | undefined;
  if (!commandEntry) {
    if (!misspelt.has('command'))
      report(
        ctx,
        'error',
        'missing-key',
        keySpan,
        `workload '${name}' needs a command:, e.g. command: [python3, run.py]`,
      );
  } else if (isSeq(commandEntry.value)) {
    command = readTextList(ctx, commandEntry.value, 'command', commandEntry.keySpan)?.map((i) => i.value);
    if (command && command.length === 0) {
      report(ctx, 'error', 'empty-value', commandEntry.span, `the command of workload '${name}' is empty`);
      command = undefined;
    }
  } else {
    const text = readText(ctx, commandEntry.value, 'command', commandEntry.keySpan);
    if (text !== undefined && text.trim() === '')
      report(ctx, 'error', 'empty-value', commandEntry.keySpan, `the command of workload '${name}' is empty`);
    else if (text !== undefined) command = ['/bin/sh', '-c', text];
  }
  const envEntry = fields.get('env');
  const env = envEntry ? readStringMap(ctx, envEntry.value, 'env', envEntry.keySpan, checkEnvName) : {};
  const resEntry = fields.get('resources');
  const resources =
    resEntry && !isNull(resEntry.value) ? readResources(ctx, resEntry.value, resEntry.keySpan) : {};
  const netEntry = fields.get('network');
  const network = netEntry
    ? (readEnum(ctx, netEntry.value, 'network', NETWORK_MODES, netEntry.keySpan) ?? 'none')
    : 'none';
  const outEntry = fields.get('outputs');
  const outputs: string[] = [];
  if (outEntry && !isNull(outEntry.value)) {
    for (const o of readTextList(ctx, outEntry.value, 'outputs', outEntry.keySpan) ?? []) {
      const r = checkHostPath(o.value, 'output');
      if (r.error) report(ctx, 'error', 'bad-path', o.span, r.error);
      else if (r.warning) report(ctx, 'warning', 'path-outside', o.span, r.warning);
      outputs.push(o.value);
    }
  }
  const wdEntry = fields.get('workdir');
  const workdir = wdEntry ? readText(ctx, wdEntry.value, 'workdir', wdEntry.keySpan) : undefined;
  if (wdEntry && workdir !== undefined) {
    checkDest(ctx, workdir, wdEntry.span, 'workdir');
  }
  if (!command) return undefined;
  if (commandEntry) adviseWorkload(ctx, name, command, commandEntry.span, network, netEntry !== undefined);
  return {
    name,
    command,
    env,
    resources,
    network,
    outputs,
    ...(workdir !== undefined ? { workdir } : {}),
    range: rangeOf(ctx, span),
  };
}

function readResources(ctx: ReadContext, node: unknown, at: [number, number]): Resources {
  const out: Resources = {};
  const fields = readMap(ctx, node, 'resources', RESOURCE_KEYS, at);
  if (!fields) return out;
  const cpus = fields.get('cpus');
  if (cpus) {
    const text = scalarText(cpus.value);
    const value = text !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
    const bad =
      text === undefined || Number.isNaN(value)
        ? `cpus should be a number such as 2 or 0.5, not ${describeNode(cpus.value)}`
        : checkCpus(value);
    if (bad) report(ctx, 'error', 'bad-value', cpus.span, bad);
    else out.cpus = value;
  }
  const memory = fields.get('memory');
  if (memory) {
    const text = scalarText(memory.value);
    if (text === undefined)
      report(
        ctx,
        'error',
        'bad-value',
        memory.span,
        `memory should be a size such as 4GiB, not ${describeNode(memory.value)}`,
      );
    else {
      const r = parseMemory(text);
      if ('error' in r) report(ctx, 'error', 'bad-value', memory.span, r.error);
      else out.memory = r.bytes;
    }
  }
  const pids = fields.get('pids');
  if (pids) {
    const text = scalarText(pids.value);
    if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) {
      report(
        ctx,
        'error',
        'bad-value',
        pids.span,
        `pids should be a whole number of processes, at least 1 (e.g. 256), not ${describeNode(pids.value)}`,
      );
    } else {
      out.pids = Number(text);
      if (out.pids < 8)
        report(
          ctx,
          'warning',
          'low-pids',
          pids.span,
          `pids: ${text} leaves room for very few processes; a shell and its commands need more than that`,
        );
    }
  }
  return out;
}

export function readMounts(ctx: ReadContext, node: unknown, at: [number, number]): Mount[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(node, at),
      `mounts should be a list of { src, dest, readonly }, not ${describeNode(node)}`,
    );
    return [];
  }
  const out: Mount[] = [];
  for (const item of node.items) {
    const span = spanOf(item, spanOf(node, at));
    const range = rangeOf(ctx, span);
    let src: string | undefined;
    let dest: string | undefined;
    let readonly = false;
    let srcSpan = span;
    let destSpan = span;
    if (isScalar(item) && typeof item.value === 'string') {
      // The short form people know from docker -v: ./data:/data[:ro]
      const parts = item.value.split(':');
      if (
        parts.length < 2 ||
        parts.length > 3 ||
        (parts[2] !== undefined && parts[2] !== 'ro' && parts[2] !== 'rw')
      ) {
        report(
          ctx,
          'error',
          'bad-value',
          span,
          `a mount is { src: ./path, dest: /path, readonly: true } or ./path:/path[:ro], not '${item.value}'`,
        );
        continue;
      }
      [src, dest] = parts;
      readonly = parts[2] === 'ro';
    } else if (isMap(item)) {
      const misspelt = new Set<string>();
      const fields = readMap(ctx, item, 'a mount', MOUNT_KEYS, span, misspelt);
      if (!fields) continue;
      const s = fields.get('src');
      const d = fields.get('dest');
      const ro = fields.get('readonly');
      if ((!s && !misspelt.has('src')) || (!d && !misspelt.has('dest')))
        report(
          ctx,
          'error',
          'missing-key',
          span,
          `a mount needs ${!s ? 'src' : ''}${!s && !d ? ' and ' : ''}${!d ? 'dest' : ''}`,
        );
      if (s) {
        src = readText(ctx, s.value, 'mount src', s.keySpan);
        srcSpan = s.span;
      }
      if (d) {
        dest = readText(ctx, d.value, 'mount dest', d.keySpan);
        destSpan = d.span;
      }
      if (ro) readonly = readBoolean(ctx, ro.value, 'readonly', ro.keySpan) ?? false;
    } else {
      report(
        ctx,
        'error',
        'wrong-type',
        span,
        `a mount is { src: ./path, dest: /path, readonly: true }, not ${describeNode(item)}`,
      );
      continue;
    }
    if (src !== undefined) checkHostSource(ctx, src, srcSpan, 'mount src', 'warning');
    if (dest !== undefined) {
      checkDest(ctx, dest, destSpan, 'mount dest');
    }
    if (src !== undefined && dest !== undefined) out.push({ src, dest, readonly, range });
  }
  const dests = new Map<string, Mount>();
  for (const m of out) {
    const prior = dests.get(m.dest);
    if (prior) {
      const s = m.range;
      report(
        ctx,
        'error',
        'duplicate-mount',
        [s.start.offset, s.end.offset],
        `two mounts on ${m.dest}; the second would hide the first`,
      );
    }
    dests.set(m.dest, m);
  }
  return out;
}
