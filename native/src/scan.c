/* `strata-box scan DIR`: emits the entries of an overlay upper dir as records, in byte-sorted
 * path order, so that the engine can write a deterministic tar layer from them.
 *
 * The walk never follows symlinks (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW). overlayfs's markers become
 * records of their own: a 0:0 character device (or, since 6.7, a file with overlay.whiteout) is a
 * whiteout, a directory with overlay.opaque=y is followed by an opaque record. overlayfs's own
 * xattrs are never emitted. Regular files with more than one link are emitted once with data and
 * then as hardlinks to the first path. Owners are mapped back to ids inside the container through
 * --uid-map/--gid-map (the container's mapping, as in /proc/PID/uid_map). */
#include "idmap.h"
#include "records.h"
#include "resolve.h"
#include "scan.h"
#include "userns_self.h"
#include "xattrs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define fail rec_fail
#define SYS_FAIL(what, ...) REC_FAIL_FS(what, ##__VA_ARGS__)
#define MAX_MAPS 64
#define OVERFLOW_ID 65534 /* as the kernel's overflowuid: an owner outside the mapping */

struct idmap {
  uint32_t inside, outside, count;
};

struct scan_entry {
  char *path;
  dev_t dev;
  ino_t ino;
  int multi_link; /* regular file or symlink with st_nlink > 1 */
};

struct scan {
  int rootfd;
  struct rec_out out;
  struct idmap uids[MAX_MAPS], gids[MAX_MAPS];
  size_t nuids, ngids;
  struct scan_entry *v;
  size_t n, cap;
  struct {
    uint64_t entries, files, dirs, symlinks, hardlinks, whiteouts, opaques, nodes, bytes;
    uint64_t skipped_sockets, unmapped_owners;
  } c;
};

static struct scan S;

static void push(const char *path, const struct stat *st) {
  if (S.n == S.cap) {
    size_t cap = S.cap ? S.cap * 2 : 1024;
    struct scan_entry *v = realloc(S.v, cap * sizeof *v);
    if (!v) fail(EXIT_REC_SYSTEM, "out of memory");
    S.v = v;
    S.cap = cap;
  }
  char *p = strdup(path);
  if (!p) fail(EXIT_REC_SYSTEM, "out of memory");
  int whiteout = S_ISCHR(st->st_mode) && st->st_rdev == 0;
  S.v[S.n++] = (struct scan_entry){
      .path = p,
      .dev = st->st_dev,
      .ino = st->st_ino,
      .multi_link = st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !whiteout,
  };
}

/* Collects every path below dirfd; the emission order is decided afterwards by one sort. */
static void walk(int dirfd, const char *prefix, int depth) {
  DIR *d = fdopendir(dirfd);
  if (!d) SYS_FAIL("reading directory '%s'", prefix);
  struct dirent *de;
  while ((errno = 0, de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char path[REC_MAX_PATH + 1];
    int len = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
    rec_report.entry = path;
    if (len < 0 || (size_t)len >= sizeof path)
      fail(EXIT_REC_REFUSED, "path longer than %d bytes: a layer cannot hold it", REC_MAX_PATH);
    if (depth + 1 > REC_MAX_DEPTH) fail(EXIT_REC_REFUSED, "deeper than %d components", REC_MAX_DEPTH);
    struct stat st;
    if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) SYS_FAIL("stat");
    if (S_ISSOCK(st.st_mode)) { /* a tar layer cannot hold a socket; a dead one is no content */
      S.c.skipped_sockets++;
      continue;
    }
    push(path, &st);
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) SYS_FAIL("opening directory");
      walk(sub, path, depth + 1);
      rec_report.entry = NULL;
    }
  }
  if (errno) SYS_FAIL("reading directory '%s'", prefix);
  closedir(d);
}

static int by_path(const void *a, const void *b) {
  /* strcmp compares as unsigned char: byte order, as tar layers are sorted. */
  return strcmp(((const struct scan_entry *)a)->path, ((const struct scan_entry *)b)->path);
}

static uint32_t map_id(const struct idmap *m, size_t n, uint32_t id) {
  if (n == 0) return id;
  for (size_t i = 0; i < n; i++)
    if (id >= m[i].outside && id - m[i].outside < m[i].count) return m[i].inside + (id - m[i].outside);
  S.c.unmapped_owners++;
  return OVERFLOW_ID;
}

/* security.capability as written in a user namespace is revision 3 and names the host id of that
 * namespace's root; in a layer it must be the plain revision 2 form (as inside the container). */
static uint32_t normalize_capability(unsigned char *v, uint32_t len) {
  if (len != 24) return len;
  uint32_t magic = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
  if ((magic & 0xFF000000u) != 0x03000000u) return len;
  uint32_t rootid = (uint32_t)v[20] | (uint32_t)v[21] << 8 | (uint32_t)v[22] << 16 | (uint32_t)v[23] << 24;
  if (map_id(S.uids, S.nuids, rootid) != 0) return len; /* not the container's root: keep as is */
  v[3] = 0x02; /* VFS_CAP_REVISION_2, flags kept in the low bits */
  return 20;
}

/* The entry's xattrs, overlayfs's and the host's SELinux label left out. */
static void read_xattrs(int parent, const char *name, struct record *r, int *opaque, int *xwhiteout) {
  char *names;
  ssize_t len = xattr_list_at(parent, name, &names);
  if (len < 0) SYS_FAIL("listing xattrs");
  size_t count = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) count++;
  r->xattrs = calloc(count + 1, sizeof *r->xattrs);
  if (!r->xattrs) fail(EXIT_REC_SYSTEM, "out of memory");
  r->nxattrs = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) {
    const char *x = names + i;
    if (xattr_is_overlay(x)) {
      unsigned char *v;
      ssize_t vl;
      if (xattr_is_overlay_named(x, "opaque") && (vl = xattr_get_at(parent, name, x, &v)) >= 0) {
        if (vl == 1 && v[0] == 'y') *opaque = 1; /* "x" (6.7+) only says "has xattr whiteouts" */
        free(v);
      } else if (xattr_is_overlay_named(x, "whiteout")) {
        *xwhiteout = 1;
      } else if (xattr_is_overlay_named(x, "redirect") || xattr_is_overlay_named(x, "metacopy")) {
        fail(EXIT_REC_REFUSED, "upper entry carries %s: the overlay was mounted with redirect_dir or "
             "metacopy, whose upper dirs are not self-contained; mount without them", x);
      }
      continue;
    }
    if (strcmp(x, "security.selinux") == 0) continue;
    unsigned char *v;
    ssize_t vl = xattr_get_at(parent, name, x, &v);
    if (vl < 0) {
      if (errno == ENODATA) continue; /* removed in between */
      SYS_FAIL("reading xattr %s", x);
    }
    if (vl > REC_MAX_XATTR_VALUE) fail(EXIT_REC_REFUSED, "xattr %s is larger than %d bytes", x, REC_MAX_XATTR_VALUE);
    uint32_t vlen = (uint32_t)vl;
    if (strcmp(x, "security.capability") == 0) vlen = normalize_capability(v, vlen);
    r->xattrs[r->nxattrs++] = (struct rec_xattr){.name = strdup(x), .value = v, .value_len = vlen};
  }
  free(names);
}

static void free_xattrs(struct record *r) {
  for (size_t i = 0; i < r->nxattrs; i++) {
    free((void *)r->xattrs[i].name);
    free((void *)r->xattrs[i].value);
  }
  free(r->xattrs);
  r->xattrs = NULL;
  r->nxattrs = 0;
}

static void send_data(int fd, uint64_t size) {
  if (rec_out_flush(&S.out) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
  while (size > 0) {
    ssize_t n = sendfile(S.out.fd, fd, NULL, size > (1u << 30) ? (1u << 30) : (size_t)size);
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) break; /* output kind sendfile cannot feed */
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(EXIT_REC_STREAM, "sending file data: %s", strerror(errno));
    }
    if (n == 0) fail(EXIT_REC_SYSTEM, "file shrank while it was read");
    size -= (uint64_t)n;
  }
  static unsigned char buf[1 << 20];
  while (size > 0) {
    ssize_t n = read(fd, buf, size > sizeof buf ? sizeof buf : (size_t)size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) SYS_FAIL("reading file data");
    if (n == 0) fail(EXIT_REC_SYSTEM, "file shrank while it was read");
    if (rec_out_write(&S.out, buf, (size_t)n) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
    size -= (uint64_t)n;
  }
}

/* For hardlinks: the emission index of the first entry with the same inode, or -1. One sort of
 * the multi-link entries by (dev, ino, index) instead of a search per entry. */
static ssize_t *first_links;

static int by_inode(const void *a, const void *b) {
  const struct scan_entry *x = &S.v[*(const size_t *)a], *y = &S.v[*(const size_t *)b];
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static void link_hardlinks(void) {
  size_t *idx = malloc((S.n + 1) * sizeof *idx), m = 0;
  first_links = malloc((S.n + 1) * sizeof *first_links);
  if (!idx || !first_links) fail(EXIT_REC_SYSTEM, "out of memory");
  for (size_t i = 0; i < S.n; i++) {
    first_links[i] = -1;
    if (S.v[i].multi_link) idx[m++] = i;
  }
  qsort(idx, m, sizeof *idx, by_inode);
  for (size_t k = 1; k < m; k++) {
    const struct scan_entry *p = &S.v[idx[k - 1]], *e = &S.v[idx[k]];
    if (p->dev == e->dev && p->ino == e->ino)
      first_links[idx[k]] = first_links[idx[k - 1]] >= 0 ? first_links[idx[k - 1]] : (ssize_t)idx[k - 1];
  }
  free(idx);
}

static void emit(size_t i) {
  struct scan_entry *e = &S.v[i];
  struct record r = {0};
  rec_report.entry = e->path;
  rec_report.index = i;
  const char *name;
  int parent = strcmp(e->path, ".") == 0 ? resolve_dir(S.rootfd, "") : resolve_parent(S.rootfd, e->path, 0, &name);
  if (parent < 0) SYS_FAIL("resolving");
  if (strcmp(e->path, ".") == 0) name = ".";
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) SYS_FAIL("stat");
  snprintf(r.path, sizeof r.path, "%s", e->path);
  r.mode = st.st_mode & 07777;
  r.uid = map_id(S.uids, S.nuids, st.st_uid);
  r.gid = map_id(S.gids, S.ngids, st.st_gid);
  r.mtime_sec = st.st_mtim.tv_sec;
  r.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
  int opaque = 0, xwhiteout = 0, fd = -1;
  read_xattrs(parent, name, &r, &opaque, &xwhiteout);
  ssize_t first = first_links[i];
  if ((S_ISCHR(st.st_mode) && st.st_rdev == 0) || (S_ISREG(st.st_mode) && xwhiteout)) {
    r.kind = REC_WHITEOUT;
    r.mode = r.uid = r.gid = 0; /* markers: only the name matters; zeros keep layers reproducible */
    r.mtime_sec = 0;
    r.mtime_nsec = 0;
    free_xattrs(&r);
    S.c.whiteouts++;
  } else if (first >= 0) {
    r.kind = REC_HARDLINK;
    snprintf(r.link, sizeof r.link, "%s", S.v[first].path);
    S.c.hardlinks++;
  } else if (S_ISREG(st.st_mode)) {
    r.kind = REC_FILE;
    fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) SYS_FAIL("opening file");
    struct stat fst;
    if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) || fst.st_ino != st.st_ino)
      fail(EXIT_REC_SYSTEM, "file changed while the upper dir was scanned");
    r.size = (uint64_t)fst.st_size;
    S.c.files++;
    S.c.bytes += r.size;
  } else if (S_ISDIR(st.st_mode)) {
    r.kind = REC_DIR;
    S.c.dirs++;
  } else if (S_ISLNK(st.st_mode)) {
    r.kind = REC_SYMLINK;
    ssize_t n = readlinkat(parent, name, r.link, sizeof r.link);
    if (n < 0) SYS_FAIL("reading symlink");
    if ((size_t)n >= sizeof r.link) fail(EXIT_REC_REFUSED, "symlink target longer than %d bytes", REC_MAX_LINK);
    r.link[n] = 0;
    S.c.symlinks++;
  } else {
    r.kind = S_ISCHR(st.st_mode) ? REC_CHAR : S_ISBLK(st.st_mode) ? REC_BLOCK : REC_FIFO;
    r.rdev_major = major(st.st_rdev);
    r.rdev_minor = minor(st.st_rdev);
    S.c.nodes++;
  }
  if (rec_write(&S.out, &r) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
  if (fd >= 0) {
    rec_report.in_data = 1; /* a failure now is told by the exit code and stderr only */
    send_data(fd, r.size);
    rec_report.in_data = 0;
    close(fd);
  }
  S.c.entries++;
  if (opaque && r.kind == REC_DIR) {
    struct record o = {.kind = REC_OPAQUE};
    snprintf(o.path, sizeof o.path, "%s", e->path);
    if (rec_write(&S.out, &o) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
    S.c.opaques++;
  }
  free_xattrs(&r);
  close(parent);
}

static int parse_map(const char *s, struct idmap *m, size_t *n) {
  unsigned long a, b, c;
  char tail;
  if (*n == MAX_MAPS || sscanf(s, "%lu:%lu:%lu%c", &a, &b, &c, &tail) != 3 || c == 0 ||
      a > UINT32_MAX || b > UINT32_MAX || c > UINT32_MAX)
    return -1;
  m[(*n)++] = (struct idmap){(uint32_t)a, (uint32_t)b, (uint32_t)c};
  return 0;
}

static int usage(FILE *out) {
  fputs("usage: strata-box scan [--uid-map IN:OUT:N]... [--gid-map IN:OUT:N]... [--userns [--single-id]] DIR\n"
        "Writes the entries of the overlay upper dir DIR to stdout as a strata record stream\n"
        "(native/README.md), in byte-sorted path order, ending with a JSON summary.\n"
        "  --uid-map, --gid-map  the container's id mapping (as in /proc/PID/uid_map): owners are\n"
        "                        reported as ids inside the container; ids outside it as 65534\n"
        "  --userns              unprivileged: read inside a user namespace with the mapping\n"
        "                        `strata-box run` uses, so the kernel maps owners back and files of\n"
        "                        every mapped id are readable (no --uid-map/--gid-map needed)\n"
        "  --single-id           with --userns: map the invoking user alone, as `run --single-id`\n"
        "                        does (a build step's upper dir); no newuidmap, about 10 ms sooner\n",
        out);
  return out == stdout ? 0 : EXIT_REC_USAGE;
}

int scan_main(int argc, char **argv) {
  const char *dir = NULL;
  int userns = 0, single_id = 0;
  rec_report.cmd = "scan";
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return usage(stdout);
    if (strcmp(argv[i], "--userns") == 0) {
      userns = 1;
      continue;
    }
    if (strcmp(argv[i], "--single-id") == 0) {
      single_id = 1;
      continue;
    }
    int is_uid = strcmp(argv[i], "--uid-map") == 0, is_gid = strcmp(argv[i], "--gid-map") == 0;
    if ((is_uid || is_gid) && i + 1 < argc) {
      if (parse_map(argv[++i], is_uid ? S.uids : S.gids, is_uid ? &S.nuids : &S.ngids) < 0) {
        fprintf(stderr, "strata-box scan: bad id map '%s': expected INSIDE:OUTSIDE:COUNT (at most %d)\n", argv[i], MAX_MAPS);
        return EXIT_REC_USAGE;
      }
    } else if (argv[i][0] == '-' || dir) {
      fprintf(stderr, "strata-box scan: unexpected argument '%s'\n", argv[i]);
      return usage(stderr);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) {
    fputs("strata-box scan: missing DIR\n", stderr);
    return usage(stderr);
  }
  if (userns && (S.nuids || S.ngids)) {
    fprintf(stderr, "strata-box scan: --userns maps owners itself; drop --uid-map/--gid-map\n");
    return EXIT_REC_USAGE;
  }
  if (single_id && !userns) {
    fprintf(stderr, "strata-box scan: --single-id chooses the mapping of --userns; add --userns\n");
    return EXIT_REC_USAGE;
  }
  if (single_id) idmap_force_single_id();
  if (userns && geteuid() != 0) enter_container_userns("scan");
  if (single_id) {
    /* Only container root (the invoking user; root itself reads the dir directly) is mapped: any
     * other owner shows as the overflow id and is reported and counted as outside the mapping. */
    S.uids[0] = S.gids[0] = (struct idmap){.inside = 0, .outside = 0, .count = 1};
    S.nuids = S.ngids = 1;
  }
  if (rec_out_init(&S.out, 1, 1u << 20) < 0) fail(EXIT_REC_SYSTEM, "out of memory");
  rec_report.out = &S.out;
  if (rec_write_stream_header(&S.out) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
  S.rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (S.rootfd < 0) fail(EXIT_REC_USAGE, "cannot open directory %s: %s", dir, strerror(errno));
  int top = openat(S.rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0) fail(EXIT_REC_SYSTEM, "cannot read directory %s: %s", dir, strerror(errno));
  struct stat st;
  if (fstat(top, &st) < 0) SYS_FAIL("stat %s", dir);
  push(".", &st);
  walk(top, "", 0);
  rec_report.entry = NULL;
  /* The root first, then everything in byte order of the full path. */
  qsort(S.v + 1, S.n - 1, sizeof *S.v, by_path);
  link_hardlinks();
  for (size_t i = 0; i < S.n; i++) emit(i);
  rec_report.entry = NULL;
  char json[512];
  snprintf(json, sizeof json,
           "{\"ok\":true,\"entries\":%llu,\"dirs\":%llu,\"files\":%llu,\"symlinks\":%llu,\"hardlinks\":%llu,"
           "\"whiteouts\":%llu,\"opaques\":%llu,\"nodes\":%llu,\"bytes\":%llu,\"skippedSockets\":%llu,"
           "\"unmappedOwners\":%llu}",
           (unsigned long long)S.c.entries, (unsigned long long)S.c.dirs, (unsigned long long)S.c.files,
           (unsigned long long)S.c.symlinks, (unsigned long long)S.c.hardlinks,
           (unsigned long long)S.c.whiteouts, (unsigned long long)S.c.opaques, (unsigned long long)S.c.nodes,
           (unsigned long long)S.c.bytes, (unsigned long long)S.c.skipped_sockets,
           (unsigned long long)S.c.unmapped_owners);
  if (rec_write_end(&S.out, json) < 0) {
    fprintf(stderr, "strata-box scan: writing the summary: %s\n", strerror(errno));
    return EXIT_REC_STREAM;
  }
  for (size_t i = 0; i < S.n; i++) free(S.v[i].path);
  free(S.v);
  free(first_links);
  return 0;
}
