/* `strata-box apply DIR`: unpacks a stream of layer entries into DIR.
 *
 * Every path is resolved inside DIR (resolve.c), so no entry can write outside it, whatever
 * symlinks earlier entries made (CVE-2018-15664 / umoci CVE-2021-29136 class). A name that exists
 * is removed before its entry is created (a directory over a directory is kept, as tar does), and
 * files are created with O_EXCL|O_NOFOLLOW, so an entry never writes through a symlink. Metadata is
 * set on the new fd, or by (parent fd, name) without following for symlinks and nodes. Directory
 * modes and times are set at the end, deepest first, so that a read-only directory can still be
 * filled and its mtime is not disturbed by its children. On the first error apply stops, names the
 * entry, and the caller discards DIR. */
#include "apply.h"
#include "records.h"
#include "resolve.h"
#include "userns_self.h"
#include "xattrs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define IO_BUFFER (1u << 20)

struct deferred_dir {
  char *path;
  uint64_t index;
  uint32_t mode;
  struct timespec mtime;
};

struct apply_counts {
  uint64_t entries, dirs, files, symlinks, hardlinks, whiteouts, opaques, nodes, bytes;
  uint64_t skipped_devices, skipped_xattrs, dropped_overlay_xattrs, ownership_not_applied;
};

struct apply {
  int rootfd;
  int can_chown;
  int overlay_explicit; /* --overlay-xattrs given */
  int overlay_ns; /* OVERLAY_TRUSTED | OVERLAY_USER: where opaque markers are written */
  struct rec_in in;
  struct rec_out out;
  struct apply_counts n;
  struct deferred_dir *dirs;
  size_t ndirs, capdirs;
};

static struct apply A;

#define fail rec_fail
#define SYS_FAIL(what, ...) REC_FAIL_FS(what, ##__VA_ARGS__)

static void remove_tree(int dirfd, const char *name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0) return;
  if (errno != EISDIR && errno != EPERM) SYS_FAIL("removing '%s' to replace it", name);
  if (depth > 4096) fail(EXIT_REC_REFUSED, "directory tree too deep to replace");
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) SYS_FAIL("opening directory '%s' to replace it", name);
  DIR *d = fdopendir(fd);
  if (!d) SYS_FAIL("reading directory '%s'", name);
  for (int removed = 1; removed;) {
    removed = 0;
    rewinddir(d);
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
      remove_tree(fd, de->d_name, depth + 1);
      removed = 1;
    }
    if (errno) SYS_FAIL("reading directory '%s'", name);
  }
  closedir(d);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) SYS_FAIL("removing directory '%s'", name);
}

/* Makes room for a new entry at (parent, name). Returns 1 when an existing directory is kept for
 * a directory entry, else 0 with the name free. */
static int make_room(int parent, const char *name, int for_dir) {
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return 0;
    SYS_FAIL("looking up the existing entry");
  }
  if (for_dir && S_ISDIR(st.st_mode)) return 1;
  remove_tree(parent, name, 0);
  return 0;
}

static void set_owner_fd(int fd, const struct record *r) {
  if (!A.can_chown) {
    if (r->uid != 0 || r->gid != 0) A.n.ownership_not_applied++;
    return;
  }
  if (fchown(fd, r->uid, r->gid) == 0) return;
  /* In a user namespace (--userns, or a caller's), ids outside its mapping cannot be given (EINVAL):
   * counted, as rootless. */
  if (errno == EINVAL) {
    A.n.ownership_not_applied++;
    return;
  }
  SYS_FAIL("setting owner %u:%u", r->uid, r->gid);
}

static void set_owner_at(int parent, const char *name, const struct record *r) {
  if (!A.can_chown) {
    if (r->uid != 0 || r->gid != 0) A.n.ownership_not_applied++;
    return;
  }
  if (fchownat(parent, name, r->uid, r->gid, AT_SYMLINK_NOFOLLOW) == 0) return;
  if (errno == EINVAL) {
    A.n.ownership_not_applied++;
    return;
  }
  SYS_FAIL("setting owner %u:%u", r->uid, r->gid);
}

/* Copies the record's xattrs, except overlayfs's own. Without privilege some namespaces cannot
 * be written (trusted.*, security.capability as a plain user): those are counted, not fatal. */
/* fd: the entry itself (files, dirs: fsetxattr), or -1 to address it as (parent, name) without
 * following it (symlinks, nodes, which cannot be opened for this). */
static void set_xattrs(int fd, int parent, const char *name, const struct record *r) {
  for (size_t i = 0; i < r->nxattrs; i++) {
    const struct rec_xattr *x = &r->xattrs[i];
    if (xattr_is_overlay(x->name)) {
      A.n.dropped_overlay_xattrs++;
      continue;
    }
    int rc = fd >= 0 ? fsetxattr(fd, x->name, x->value, x->value_len, 0)
                     : xattr_set_at(parent, name, x->name, x->value, x->value_len);
    if (rc == 0) continue;
    if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == EACCES) {
      A.n.skipped_xattrs++;
      continue;
    }
    SYS_FAIL("setting xattr %s", x->name);
  }
}

static struct timespec mtime_of(const struct record *r) {
  return (struct timespec){.tv_sec = (time_t)r->mtime_sec, .tv_nsec = r->mtime_nsec};
}

static void set_times_at(int parent, const char *name, const struct record *r) {
  struct timespec t[2] = {mtime_of(r), mtime_of(r)};
  if (utimensat(parent, name, t, AT_SYMLINK_NOFOLLOW) < 0) SYS_FAIL("setting mtime");
}

static void defer_dir(const struct record *r) {
  if (A.ndirs == A.capdirs) {
    size_t cap = A.capdirs ? A.capdirs * 2 : 256;
    struct deferred_dir *d = realloc(A.dirs, cap * sizeof *d);
    if (!d) fail(EXIT_REC_SYSTEM, "out of memory");
    A.dirs = d;
    A.capdirs = cap;
  }
  char *p = strdup(r->path);
  if (!p) fail(EXIT_REC_SYSTEM, "out of memory");
  A.dirs[A.ndirs++] = (struct deferred_dir){.path = p, .index = rec_report.index, .mode = r->mode, .mtime = mtime_of(r)};
}

/* Opens the directory at path (".": the root) without following a final symlink. */
static int open_dir_nofollow(const char *path, int create_parents) {
  if (strcmp(path, ".") == 0) return openat(A.rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *name;
  int parent = resolve_parent(A.rootfd, path, create_parents, &name);
  if (parent < 0) return -1;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  close(parent);
  errno = e;
  return fd;
}

static void apply_dir(const struct record *r) {
  if (strcmp(r->path, ".") != 0) {
    const char *name;
    int parent = resolve_parent(A.rootfd, r->path, 1, &name);
    if (parent < 0) SYS_FAIL("resolving the parent directory");
    /* Made owner-writable for now so it can be filled; its mode is set at the end. */
    if (!make_room(parent, name, 1) && mkdirat(parent, name, 0700) < 0) SYS_FAIL("creating directory");
    close(parent);
  }
  int fd = open_dir_nofollow(r->path, 0);
  if (fd < 0) SYS_FAIL("opening the new directory");
  set_owner_fd(fd, r);
  set_xattrs(fd, -1, NULL, r);
  close(fd);
  defer_dir(r);
  A.n.dirs++;
}

static void copy_data(int fd, uint64_t size) {
  while (size > 0) {
    const unsigned char *p;
    ssize_t got = rec_in_borrow(&A.in, &p, size > IO_BUFFER ? IO_BUFFER : (size_t)size);
    if (got < 0) {
      if (errno == 0) fail(EXIT_REC_STREAM, "input ended inside the file data (%llu bytes missing)", (unsigned long long)size);
      SYS_FAIL("reading file data");
    }
    for (ssize_t off = 0; off < got;) {
      ssize_t w = write(fd, p + off, (size_t)(got - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        SYS_FAIL("writing file data");
      }
      off += w;
    }
    size -= (uint64_t)got;
  }
}

static void apply_file(const struct record *r) {
  const char *name;
  int parent = resolve_parent(A.rootfd, r->path, 1, &name);
  if (parent < 0) SYS_FAIL("resolving the parent directory");
  make_room(parent, name, 0);
  int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) SYS_FAIL("creating file");
  copy_data(fd, r->size);
  /* Owner before mode (chown clears set-id bits), xattrs after owner (chown clears
   * security.capability), times last. */
  set_owner_fd(fd, r);
  if (fchmod(fd, r->mode) < 0) SYS_FAIL("setting mode %o", r->mode);
  set_xattrs(fd, -1, NULL, r);
  struct timespec t[2] = {mtime_of(r), mtime_of(r)};
  if (futimens(fd, t) < 0) SYS_FAIL("setting mtime");
  if (close(fd) < 0) SYS_FAIL("closing file");
  close(parent);
  A.n.files++;
  A.n.bytes += r->size;
}

static void apply_symlink(const struct record *r) {
  if (r->link[0] == 0) fail(EXIT_REC_REFUSED, "symlink with an empty target");
  const char *name;
  int parent = resolve_parent(A.rootfd, r->path, 1, &name);
  if (parent < 0) SYS_FAIL("resolving the parent directory");
  make_room(parent, name, 0);
  if (symlinkat(r->link, parent, name) < 0) SYS_FAIL("creating symlink");
  set_owner_at(parent, name, r);
  set_xattrs(-1, parent, name, r);
  set_times_at(parent, name, r);
  close(parent);
  A.n.symlinks++;
}

static void apply_hardlink(const struct record *r) {
  const char *why = path_check(r->link);
  if (why || strcmp(r->link, ".") == 0)
    fail(EXIT_REC_REFUSED, "hardlink source '%s' refused: %s", r->link, why ? why : "it is the root");
  if (strcmp(r->link, r->path) == 0) fail(EXIT_REC_REFUSED, "hardlink to itself");
  const char *src_name, *name;
  int src_parent = resolve_parent(A.rootfd, r->link, 0, &src_name);
  if (src_parent < 0) SYS_FAIL("hardlink source '%s' is not in the layer", r->link);
  struct stat src, dst;
  if (fstatat(src_parent, src_name, &src, AT_SYMLINK_NOFOLLOW) < 0)
    SYS_FAIL("hardlink source '%s' is not in the layer", r->link);
  if (S_ISDIR(src.st_mode)) fail(EXIT_REC_REFUSED, "hardlink source '%s' is a directory", r->link);
  int parent = resolve_parent(A.rootfd, r->path, 1, &name);
  if (parent < 0) SYS_FAIL("resolving the parent directory");
  /* Already the same inode (a repeated entry): nothing to do. */
  if (fstatat(parent, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && dst.st_dev == src.st_dev &&
      dst.st_ino == src.st_ino) {
    close(parent);
    close(src_parent);
    A.n.hardlinks++;
    return;
  }
  make_room(parent, name, 0);
  /* flags 0: the source is linked itself, never a symlink's target. */
  if (linkat(src_parent, src_name, parent, name, 0) < 0) SYS_FAIL("linking to '%s'", r->link);
  close(parent);
  close(src_parent);
  A.n.hardlinks++;
}

/* A whiteout is a 0:0 character device, the form overlayfs honours in both its trusted and its
 * userxattr modes; the kernel lets anyone make one since 5.8 (vfs: allow unprivileged whiteout
 * creation), earlier than rootless overlay mounts (5.11). */
static void apply_whiteout(const struct record *r) {
  const char *name;
  int parent = resolve_parent(A.rootfd, r->path, 1, &name);
  if (parent < 0) SYS_FAIL("resolving the parent directory");
  make_room(parent, name, 0);
  if (mknodat(parent, name, S_IFCHR | 0, makedev(0, 0)) < 0) SYS_FAIL("creating whiteout (0:0 device)");
  if (A.can_chown && fchownat(parent, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0) SYS_FAIL("setting owner of whiteout");
  close(parent);
  A.n.whiteouts++;
}

static void apply_opaque(const struct record *r) {
  int fd = open_dir_nofollow(r->path, 1);
  if (fd < 0 && errno == ENOENT && strcmp(r->path, ".") != 0) {
    /* An opaque marker before (or without) its directory's own entry. */
    const char *name;
    int parent = resolve_parent(A.rootfd, r->path, 1, &name);
    if (parent < 0) SYS_FAIL("resolving the parent directory");
    if (mkdirat(parent, name, 0755) < 0) SYS_FAIL("creating the opaque directory");
    close(parent);
    fd = open_dir_nofollow(r->path, 0);
  }
  if (fd < 0) SYS_FAIL("opening the opaque directory");
  if ((A.overlay_ns & OVERLAY_TRUSTED) && fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0) {
    /* Root of a user namespace is not real root: trusted.* is out of reach, and its overlay mounts
     * use userxattr anyway. Unless the caller asked for trusted, go on with user.* alone. */
    if (errno != EPERM || A.overlay_explicit) SYS_FAIL("setting trusted.overlay.opaque");
    A.overlay_ns = OVERLAY_USER;
  }
  if ((A.overlay_ns & OVERLAY_USER) && fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) < 0)
    SYS_FAIL("setting user.overlay.opaque");
  close(fd);
  A.n.opaques++;
}

static void apply_node(const struct record *r) {
  const char *name;
  int parent = resolve_parent(A.rootfd, r->path, 1, &name);
  if (parent < 0) SYS_FAIL("resolving the parent directory");
  make_room(parent, name, 0);
  mode_t type = r->kind == REC_CHAR ? S_IFCHR : r->kind == REC_BLOCK ? S_IFBLK : S_IFIFO;
  dev_t dev = r->kind == REC_FIFO ? 0 : makedev(r->rdev_major, r->rdev_minor);
  if (type != S_IFIFO && dev == 0) fail(EXIT_REC_REFUSED, "device node 0:0 (a whiteout must be sent as one)");
  if (mknodat(parent, name, type | r->mode, dev) < 0) {
    /* Without CAP_MKNOD (rootless) devices cannot be made: count them, as the issue asks. */
    if (errno == EPERM && type != S_IFIFO) {
      A.n.skipped_devices++;
      close(parent);
      return;
    }
    SYS_FAIL("creating node");
  }
  set_owner_at(parent, name, r);
  /* mknodat's mode is exact (umask is 0); chown may have cleared set-id bits, which nodes lack. */
  set_xattrs(-1, parent, name, r);
  set_times_at(parent, name, r);
  close(parent);
  A.n.nodes++;
}

static int by_path_then_index(const void *a, const void *b) {
  const struct deferred_dir *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* Directory modes and times, children before parents; the last entry for a path wins. */
static void finish_dirs(void) {
  rec_report.entry = NULL;
  if (A.ndirs > 0) qsort(A.dirs, A.ndirs, sizeof *A.dirs, by_path_then_index);
  for (size_t i = A.ndirs; i-- > 0;) {
    struct deferred_dir *d = &A.dirs[i];
    if (i + 1 < A.ndirs && strcmp(d->path, A.dirs[i + 1].path) == 0) continue;
    rec_report.entry = d->path;
    rec_report.index = d->index;
    int fd = open_dir_nofollow(d->path, 0);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue; /* replaced later */
      SYS_FAIL("reopening directory to set its mode");
    }
    struct timespec t[2] = {d->mtime, d->mtime};
    if (fchmod(fd, d->mode) < 0) SYS_FAIL("setting mode %o", d->mode);
    if (futimens(fd, t) < 0) SYS_FAIL("setting mtime");
    close(fd);
  }
  for (size_t i = 0; i < A.ndirs; i++) free(A.dirs[i].path);
  free(A.dirs);
  rec_report.entry = NULL;
}

static void check_entry(const struct record *r) {
  const char *why = path_check(r->path);
  if (why) fail(EXIT_REC_REFUSED, "path refused: %s", why);
  if (strcmp(r->path, ".") == 0 && r->kind != REC_DIR && r->kind != REC_OPAQUE)
    fail(EXIT_REC_REFUSED, "only a directory or opaque entry may name the root");
  if (r->size != 0 && r->kind != REC_FILE) fail(EXIT_REC_REFUSED, "only a regular file may carry data");
}

static int usage(FILE *out) {
  fputs("usage: strata-box apply [--overlay-xattrs user|trusted|both] [--userns] DIR\n"
        "Reads a strata record stream (native/README.md) on stdin and writes its entries into DIR,\n"
        "every path resolved inside DIR. Answers with an end record carrying a JSON summary.\n"
        "  --overlay-xattrs  where opaque-directory markers go: user.overlay.* (rootless overlay,\n"
        "                    `userxattr`), trusted.overlay.* (root), or both; default: both as root,\n"
        "                    user otherwise\n"
        "  --userns          unprivileged: write inside a user namespace with the mapping\n"
        "                    `strata-box run` uses, so owners within it are applied (the tree's\n"
        "                    files then belong to those ids; remove it the same way)\n",
        out);
  return out == stdout ? 0 : EXIT_REC_USAGE;
}

static void summary(char *json, size_t cap) {
  snprintf(json, cap,
           "{\"ok\":true,\"entries\":%llu,\"dirs\":%llu,\"files\":%llu,\"symlinks\":%llu,"
           "\"hardlinks\":%llu,\"whiteouts\":%llu,\"opaques\":%llu,\"nodes\":%llu,\"bytes\":%llu,"
           "\"skippedDevices\":%llu,\"skippedXattrs\":%llu,\"droppedOverlayXattrs\":%llu,"
           "\"ownershipNotApplied\":%llu,\"resolver\":\"%s\"}",
           (unsigned long long)A.n.entries, (unsigned long long)A.n.dirs, (unsigned long long)A.n.files,
           (unsigned long long)A.n.symlinks, (unsigned long long)A.n.hardlinks,
           (unsigned long long)A.n.whiteouts, (unsigned long long)A.n.opaques,
           (unsigned long long)A.n.nodes, (unsigned long long)A.n.bytes,
           (unsigned long long)A.n.skipped_devices, (unsigned long long)A.n.skipped_xattrs,
           (unsigned long long)A.n.dropped_overlay_xattrs, (unsigned long long)A.n.ownership_not_applied,
           resolve_uses_openat2() ? "openat2" : "walk");
}

int apply_main(int argc, char **argv) {
  const char *dir = NULL;
  int userns = 0;
  rec_report.cmd = "apply";
  A.can_chown = geteuid() == 0;
  A.overlay_ns = A.can_chown ? OVERLAY_TRUSTED | OVERLAY_USER : OVERLAY_USER;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return usage(stdout);
    if (strcmp(argv[i], "--userns") == 0) {
      userns = 1;
    } else if (strcmp(argv[i], "--overlay-xattrs") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      A.overlay_explicit = 1;
      if (strcmp(v, "user") == 0) A.overlay_ns = OVERLAY_USER;
      else if (strcmp(v, "trusted") == 0) A.overlay_ns = OVERLAY_TRUSTED;
      else if (strcmp(v, "both") == 0) A.overlay_ns = OVERLAY_TRUSTED | OVERLAY_USER;
      else return fprintf(stderr, "strata-box apply: --overlay-xattrs takes user, trusted or both, not '%s'\n", v), EXIT_REC_USAGE;
    } else if (argv[i][0] == '-' || dir) {
      fprintf(stderr, "strata-box apply: unexpected argument '%s'\n", argv[i]);
      return usage(stderr);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) {
    fputs("strata-box apply: missing DIR\n", stderr);
    return usage(stderr);
  }
  /* Real root needs no namespace; anyone else becomes root of the container's id range. */
  if (userns && geteuid() != 0) {
    enter_container_userns("apply");
    A.can_chown = 1;
  }
  if (rec_in_init(&A.in, 0, IO_BUFFER) < 0 || rec_out_init(&A.out, 1, 64 * 1024) < 0)
    fail(EXIT_REC_SYSTEM, "out of memory");
  rec_report.out = &A.out;
  if (rec_write_stream_header(&A.out) < 0) fail(EXIT_REC_STREAM, "writing output: %s", strerror(errno));
  umask(0); /* modes from the layer are exact */
  A.rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (A.rootfd < 0) fail(EXIT_REC_USAGE, "cannot open target directory %s: %s", dir, strerror(errno));
  char err[512];
  if (rec_read_stream_header(&A.in, err, sizeof err) < 0) fail(EXIT_REC_STREAM, "%s", err);
  struct record *r = calloc(1, sizeof *r);
  if (!r) fail(EXIT_REC_SYSTEM, "out of memory");
  for (;; rec_report.index++) {
    int eof;
    rec_report.entry = NULL;
    if (rec_read(&A.in, r, err, sizeof err, &eof) < 0) {
      rec_report.entry = r->path[0] ? r->path : NULL;
      fail(eof ? EXIT_REC_STREAM : EXIT_REC_REFUSED, "%s%s", err,
           eof ? " (no end record: the stream was cut short)" : "");
    }
    if (r->kind == REC_END) break;
    rec_report.entry = r->path;
    check_entry(r);
    switch (r->kind) {
    case REC_DIR: apply_dir(r); break;
    case REC_FILE: apply_file(r); break;
    case REC_SYMLINK: apply_symlink(r); break;
    case REC_HARDLINK: apply_hardlink(r); break;
    case REC_WHITEOUT: apply_whiteout(r); break;
    case REC_OPAQUE: apply_opaque(r); break;
    case REC_CHAR: case REC_BLOCK: case REC_FIFO: apply_node(r); break;
    default: fail(EXIT_REC_REFUSED, "unknown record kind 0x%02x", (unsigned char)r->kind);
    }
    A.n.entries++;
  }
  if (r->size > 0) { /* the caller's end record may carry a note; it is read and ignored */
    unsigned char skip[256];
    for (uint64_t left = r->size; left > 0;) {
      size_t n = left > sizeof skip ? sizeof skip : (size_t)left;
      if (r->size > REC_MAX_SUMMARY || rec_in_read(&A.in, skip, n) < 0) fail(EXIT_REC_STREAM, "bad end record");
      left -= n;
    }
  }
  finish_dirs();
  rec_free(r);
  free(r);
  char json[1024];
  summary(json, sizeof json);
  if (rec_write_end(&A.out, json) < 0) {
    fprintf(stderr, "strata-box apply: writing the summary: %s\n", strerror(errno));
    return EXIT_REC_STREAM;
  }
  return 0;
}
