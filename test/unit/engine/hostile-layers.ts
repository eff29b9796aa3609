// The hostile-layer list of the layer codec's issue, as tar archives. Each case refers to a
// sentinel folder outside the layer tree (absolute, or reached with ".."), so the integration test
// can check that nothing outside the tree changed. `reason` is a fragment of the expected error.
import { RawEntry } from './tar-craft';

export interface HostileCase {
  name: string;
  entries: (sentinel: string) => RawEntry[];
  reason: RegExp;
  /** The entry name the error must quote. */
  entry: string;
  truncate?: boolean;
}

const up = '../../../../../../../../../../../..';

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: '.. in a path',
    entries: (s) => [{ name: `${up}${s}/evil`, data: 'x' }],
    reason: /"\.\." in the path/,
    entry: '../',
  },
  {
    name: 'absolute path',
    entries: (s) => [{ name: `${s}/evil`, data: 'x' }],
    reason: /absolute path/,
    entry: '/evil',
  },
  {
    name: 'symlink escape (absolute target) used as a parent',
    entries: (s) => [
      { name: 'esc', type: '2', linkname: s },
      { name: 'esc/evil', data: 'x' },
    ],
    reason: /parent esc is a symlink/,
    entry: 'esc/evil',
  },
  {
    name: 'symlink escape (relative target) used as a parent',
    entries: () => [
      { name: 'a/', type: '5' },
      { name: 'a/up', type: '2', linkname: up },
      { name: 'a/up/tmp/evil', data: 'x' },
    ],
    reason: /parent a\/up is a symlink/,
    entry: 'a/up/tmp/evil',
  },
  {
    name: 'hardlink to an absolute path',
    entries: (s) => [{ name: 'hl', type: '1', linkname: `${s}/target` }],
    reason: /hardlink to the absolute path/,
    entry: 'hl',
  },
  {
    name: 'hardlink with .. to outside',
    entries: (s) => [{ name: 'hl', type: '1', linkname: `${up}${s}/target` }],
    reason: /"\.\." in the hardlink target/,
    entry: 'hl',
  },
  {
    name: 'hardlink through a symlinked parent',
    entries: (s) => [
      { name: 's', type: '2', linkname: s },
      { name: 'hl', type: '1', linkname: 's/target' },
    ],
    reason: /hardlink to s\/target, which is not earlier/,
    entry: 'hl',
  },
  {
    name: 'symlink later replaced by a file',
    entries: (s) => [
      { name: 'x', type: '2', linkname: `${s}/target` },
      { name: 'x', data: 'overwritten' },
    ],
    reason: /duplicate entry \(a symlink earlier, now a file\)/,
    entry: 'x',
  },
  {
    name: 'directory swapped for a symlink',
    entries: (s) => [
      { name: 'd/', type: '5' },
      { name: 'd', type: '2', linkname: s },
      { name: 'd/target', data: 'overwritten' },
    ],
    reason: /duplicate entry \(a dir earlier, now a symlink\)/,
    entry: 'd',
  },
  {
    name: '"." as a symlink',
    entries: (s) => [{ name: '.', type: '2', linkname: s }],
    reason: /layer root cannot be a symlink/,
    entry: '.',
  },
  {
    name: '"./" as a symlink',
    entries: (s) => [{ name: './', type: '2', linkname: s }],
    reason: /layer root cannot be a symlink/,
    entry: './',
  },
  {
    name: '"/" as a symlink',
    entries: (s) => [{ name: '/', type: '2', linkname: s }],
    reason: /absolute path/,
    entry: '/',
  },
  {
    name: '.wh.. (whiteout of ".")',
    entries: () => [{ name: 'a/.wh..' }],
    reason: /whiteout of "\."/,
    entry: 'a/.wh..',
  },
  {
    name: '.wh... (whiteout of "..")',
    entries: () => [{ name: 'a/.wh...' }],
    reason: /whiteout of "\.\."/,
    entry: 'a/.wh...',
  },
  {
    name: 'bare .wh.',
    entries: () => [{ name: 'a/.wh.' }],
    reason: /bare "\.wh\." whiteout/,
    entry: 'a/.wh.',
  },
  {
    name: 'whiteout through a symlinked parent',
    entries: (s) => [{ name: 's', type: '2', linkname: s }, { name: 's/.wh.victim' }],
    reason: /parent s is a symlink/,
    entry: 's/.wh.victim',
  },
  {
    name: 'character device',
    entries: () => [{ name: 'mem', type: '3', devmajor: 1, devminor: 1 }],
    reason: /char device node/,
    entry: 'mem',
  },
  {
    name: 'block device',
    entries: () => [{ name: 'sda', type: '4', devmajor: 8, devminor: 0 }],
    reason: /block device node/,
    entry: 'sda',
  },
  {
    name: '0:0 character device posing as a whiteout',
    entries: () => [{ name: 'victim', type: '3', devmajor: 0, devminor: 0 }],
    reason: /0:0 character device/,
    entry: 'victim',
  },
  {
    name: 'trusted.overlay.* xattr',
    entries: () => [{ name: 'd/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }],
    reason: /overlay xattr trusted\.overlay\.opaque/,
    entry: 'd/',
  },
  {
    name: 'user.overlay.* xattr',
    entries: () => [{ name: 'f', data: 'x', pax: { 'SCHILY.xattr.user.overlay.redirect': '/etc' } }],
    reason: /overlay xattr user\.overlay\.redirect/,
    entry: 'f',
  },
  {
    name: 'NUL in a PAX path',
    entries: () => [{ name: 'benign', data: 'x', pax: { path: 'evil\0/../../x' } }],
    reason: /NUL byte in the path/,
    entry: 'evil',
  },
  {
    name: 'PAX path overriding a benign name with ..',
    entries: (s) => [{ name: 'benign', data: 'x', pax: { path: `${up}${s}/evil` } }],
    reason: /"\.\." in the path/,
    entry: '../',
  },
  {
    name: 'GNU long name with ..',
    entries: (s) => [{ name: 'benign', data: 'x', gnuLongName: `${up}${s}/evil` }],
    reason: /"\.\." in the path/,
    entry: '../',
  },
  {
    name: 'header larger than its data',
    entries: () => [{ name: 'f', data: 'only ten b', size: 100000 }],
    truncate: true,
    reason: /not a valid tar|Unexpected end/,
    entry: '',
  },
  {
    name: 'PAX sparse file claiming 1 TiB',
    entries: () => [
      {
        name: 'sparse',
        data: 'x',
        pax: {
          'GNU.sparse.major': '1',
          'GNU.sparse.minor': '0',
          'GNU.sparse.realsize': String(2 ** 40),
          'GNU.sparse.name': 'sparse',
        },
      },
    ],
    reason: /sparse file/,
    entry: 'sparse',
  },
  {
    name: '3000-deep path',
    entries: () => [{ name: 'deep', data: 'x', pax: { path: 'a/'.repeat(3000) + 'f' } }],
    reason: /path longer than 4095 bytes/,
    entry: 'a/a/a',
  },
  {
    name: '300-deep path within PATH_MAX',
    entries: () => [{ name: 'deep', data: 'x', pax: { path: 'a/'.repeat(300) + 'f' } }],
    reason: /path deeper than 256 levels/,
    entry: 'a/a/a',
  },
  {
    name: 'over-long name',
    entries: () => [{ name: 'long', data: 'x', pax: { path: 'n'.repeat(300) } }],
    reason: /path component longer than 255 bytes/,
    entry: 'nnnn',
  },
  {
    name: 'duplicate entries',
    entries: () => [
      { name: 'dup', data: 'one' },
      { name: 'dup', data: 'two' },
    ],
    reason: /duplicate entry/,
    entry: 'dup',
  },
  {
    name: 'huge uid',
    entries: () => [{ name: 'f', data: 'x', pax: { uid: '99999999999' } }],
    reason: /uid 99999999999 out of range/,
    entry: 'f',
  },
  {
    name: 'huge gid',
    entries: () => [{ name: 'f', data: 'x', pax: { gid: '4294967295' } }],
    reason: /gid 4294967295 out of range/,
    entry: 'f',
  },
];
