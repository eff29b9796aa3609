/* Mounts, in the order of mounts.h. Every target inside the root is resolved with openat2
 * (RESOLVE_IN_ROOT) and mounted through its /proc/self/fd path, as runc does since CVE-2021-30465,
 * so a symlink in the image cannot redirect a mount onto the host. Every host source was opened
 * before the first mount, so nothing mounted later can change what it names. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "inroot.h"
#include "libc_compat.h"
#include "phase.h"
#include "util.h"

/* Where the root is mounted before pivot_root: a directory every system has. In our private
 * mount namespace the host's /tmp is only hidden from us, never changed. */
#define STAGING "/tmp"
/* On the --work dir: the last run on these overlay dirs ended cleanly. An xattr, not a file:
 * creating an inode on this machine's ext4 cost about 1 ms of CPU at every run's end, an xattr
 * on the existing directory stays in its inode. */
#define CLEAN_XATTR "user.strata-box.clean-end"
/* The same note as earlier versions left it, still honoured. */
#define CLEAN_MARK_FILE ".strata-box-clean"

static const char *const masked_paths[] = {
    "/proc/acpi",  "/proc/asound",          "/proc/kcore",         "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",  "/sys/firmware",         "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static int open_host(const char *what, const char *path, int flags) {
  int fd = open(path, O_PATH | O_CLOEXEC | flags);
  if (fd < 0) die_errno(EXIT_MOUNT, "%s '%s'", what, path);
  return fd;
}

/* fds for the overlay, in o->lower order; kept across clone, closed by the init after mounting. */
static int *lower_fds, upper_fd = -1, work_fd = -1, rootfs_fd = -1;

void mounts_open_host_paths(struct run_options *o) {
  if (o->rootfs) rootfs_fd = open_host("--rootfs", o->rootfs, O_DIRECTORY);
  lower_fds = xcalloc(o->n_lower, sizeof *lower_fds);
  for (size_t i = 0; i < o->n_lower; i++) lower_fds[i] = open_host("--lower", o->lower[i], O_DIRECTORY);
  if (o->upper) upper_fd = open_host("--upper", o->upper, O_DIRECTORY);
  if (o->work) work_fd = open_host("--work", o->work, O_DIRECTORY);
  for (size_t i = 0; i < o->n_mounts; i++)
    if (o->mounts[i].src) o->mounts[i].src_fd = open_host("bind source", o->mounts[i].src, 0);
}

/* Remembers a mount point we made, by where it really is in the root (a path through a symlink
 * would not be followed when cleaning up). Before pivot_root the root is mounted at STAGING. */
static void record_created(const char *relpath, int fd, bool is_dir, void *ctx) {
  struct mount_state *ms = ctx;
  char link[32], real[4096];
  ssize_t n = readlink(fd_path(fd, link), real, sizeof real - 1);
  if (n > 0) {
    real[n] = '\0';
    size_t sl = strlen(STAGING);
    if (strncmp(real, STAGING "/", sl + 1) == 0) relpath = real + sl + 1;
  }
  struct created_path *c = realloc(ms->created, (ms->n_created + 1) * sizeof *c);
  if (!c) die(EXIT_INTERNAL, "out of memory");
  ms->created = c;
  c[ms->n_created++] = (struct created_path){.path = xstrdup(relpath), .is_dir = is_dir};
}

static int mkpath(struct mount_state *ms, const char *path, bool is_file) {
  return inroot_mkpath(ms->root_fd, path, is_file, record_created, ms);
}

static void mount_fd(const char *src, int target_fd, const char *fstype, unsigned long flags, const char *data,
                     const char *what) {
  char t[32];
  if (mount(src, fd_path(target_fd, t), fstype, flags, data) < 0) die_errno(EXIT_MOUNT, "mount %s", what);
}

static void bind_fd(int src_fd, int target_fd, bool recursive, const char *what) {
  char s[32];
  mount_fd(fd_path(src_fd, s), target_fd, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL, what);
}

/* Sets attributes on the mount now at `path` in the root (and, when recursive, below it). */
static void set_attr(struct mount_state *ms, const char *path, unsigned long long attrs, bool recursive,
                     const char *what) {
  autoclose int fd = inroot_open(ms->root_fd, path, O_PATH);
  if (fd < 0) die_errno(EXIT_MOUNT, "reopen %s", what);
  struct mount_attr attr = {.attr_set = attrs};
  if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
    die_errno(EXIT_MOUNT, "make %s %s", what, (attrs & MOUNT_ATTR_RDONLY) ? "read-only" : "nosuid/nodev");
}

static char *overlay_options(const struct run_options *o) {
  char buf[32];
  size_t n_lower = o->n_lower ? o->n_lower : 1; /* 1: the empty lower dir of FROM scratch */
  size_t cap = 64 + n_lower * 20;
  char *opts = xmalloc(cap);
  strcpy(opts, "lowerdir=");
  for (size_t i = 0; i < n_lower; i++) {
    if (i) strcat(opts, ":");
    strcat(opts, fd_path(lower_fds[i], buf));
  }
  if (o->upper) {
    /* userxattr: whiteouts and opaque markers as user.overlay.*, the only form an overlay
     * mounted in a user namespace may use (Linux 5.11). */
    char *more = xasprintf("%s,upperdir=%s", opts, fd_path(upper_fd, buf));
    free(opts);
    opts = xasprintf("%s,workdir=%s,userxattr,volatile", more, fd_path(work_fd, buf));
    free(more);
  } else {
    char *more = xasprintf("%s,userxattr", opts);
    free(opts);
    opts = more;
  }
  if (strlen(opts) >= 4096) die(EXIT_ROOTFS, "overlay: too many --lower dirs (%zu) for one mount", o->n_lower);
  return opts;
}

void mounts_make_root(const struct run_options *o, struct mount_state *ms) {
  /* Nothing we mount may propagate back to the host, nor anything from the host to us. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die_errno(EXIT_ROOTFS, "make / private");
  char s[32];
  bool scratch = !o->rootfs && o->n_lower == 0;
  if (scratch) {
    /* FROM scratch: overlayfs needs a lower dir, so an empty one on a tmpfs at the staging
     * point, which the overlay then covers (it keeps its own reference to the lower dir). */
    if (mount("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=4k") < 0 ||
        mkdir(STAGING "/empty", 0755) < 0)
      die_errno(EXIT_ROOTFS, "make an empty lower dir for an overlay without --lower");
    free(lower_fds);
    lower_fds = xcalloc(1, sizeof *lower_fds);
    lower_fds[0] = open(STAGING "/empty", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (lower_fds[0] < 0) die_errno(EXIT_ROOTFS, "open the empty lower dir");
  }
  if (o->rootfs || (o->n_lower == 1 && !o->upper)) {
    int src = o->rootfs ? rootfs_fd : lower_fds[0];
    if (mount(fd_path(src, s), STAGING, NULL, MS_BIND | MS_REC, NULL) < 0)
      die_errno(EXIT_ROOTFS, "bind the root file system '%s'", o->rootfs ? o->rootfs : o->lower[0]);
  } else {
    /* A volatile overlay leaves work/work/incompat/volatile behind, and overlayfs refuses to
     * mount again while it is there. The supervisor sets CLEAN_XATTR on the work dir after a
     * run whose container is gone (its overlay unmounted); then the marker is stale and removed
     * here. Without CLEAN_XATTR, the machine crashed (or strata-box was killed) mid-run, the upper
     * dir may be incomplete, and we refuse it as overlayfs does, clearly. Removing the marker
     * only when the dirs are reused keeps fresh dirs (the engine's usual case) free of the cost:
     * deleting a directory here can wait for a synchronous discard. */
    if (work_fd >= 0) {
      char w[32];
      bool clean = removexattr(fd_path(work_fd, w), CLEAN_XATTR) == 0 || unlinkat(work_fd, CLEAN_MARK_FILE, 0) == 0;
      struct stat marker;
      if (fstatat(work_fd, "work/incompat/volatile", &marker, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!clean)
          die(EXIT_ROOTFS,
              "the overlay dirs '%s' and '%s' were in use by a run that did not end cleanly (a crash, or "
              "strata-box was killed); their contents may be incomplete: start from fresh --upper and --work dirs",
              o->upper, o->work);
        if ((unlinkat(work_fd, "work/incompat/volatile/dirty", 0) < 0 && errno != ENOENT) ||
            unlinkat(work_fd, "work/incompat/volatile", AT_REMOVEDIR) < 0)
          die_errno(EXIT_ROOTFS, "clear the overlay work dir '%s' of the last run", o->work);
      }
    }
    autofree char *opts = overlay_options(o);
    if (mount("overlay", STAGING, "overlay", 0, opts) < 0)
      die_errno(EXIT_ROOTFS,
                "mount the overlay (lower %s%s, upper %s, work %s); overlayfs in a user namespace needs "
                "Linux 5.11 and upper and work dirs on one file system that supports user xattrs",
                o->n_lower ? o->lower[0] : "(empty)", o->n_lower > 1 ? ":..." : "", o->upper ? o->upper : "-", o->work ? o->work : "-");
  }
  if (o->rootfs) close(rootfs_fd);
  for (size_t i = 0; i < (scratch ? 1 : o->n_lower); i++) close(lower_fds[i]);
  if (upper_fd >= 0) close(upper_fd);
  if (work_fd >= 0) close(work_fd);
  ms->root_fd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ms->root_fd < 0) die_errno(EXIT_ROOTFS, "open the new root");
}

/* An image whose /proc, /dev or /sys is a symlink could point our mounts anywhere in the root;
 * refuse it rather than guess (runc does the same). Returns an O_PATH fd of the directory. */
static int api_dir(struct mount_state *ms, const char *name) {
  struct stat st;
  if (fstatat(ms->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) die(EXIT_IMAGE, "the image's /%s is a symlink; refusing to mount over it", name);
    if (!S_ISDIR(st.st_mode)) die(EXIT_IMAGE, "the image's /%s is not a directory", name);
  }
  int fd = mkpath(ms, name, false);
  if (fd < 0) die_errno(EXIT_MOUNT, "make /%s in the root", name);
  return fd;
}

static void mount_dev(struct mount_state *ms) {
  autoclose int dev = api_dir(ms, "dev");
  mount_fd("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=755,size=65536k", "tmpfs on /dev");
  close(dev);
  dev = inroot_open(ms->root_fd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0) die_errno(EXIT_MOUNT, "reopen /dev");
  /* Device nodes are bind mounts of the host's: mknod is not allowed in a user namespace. The
   * fresh file on our own tmpfs is the mount target through the fd that created it; the source is
   * the host's /dev, which nothing in this mount namespace has changed (the root is at STAGING). */
  for (size_t i = 0; i < sizeof dev_nodes / sizeof *dev_nodes; i++) {
    autoclose int target = openat(dev, dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (target < 0) die_errno(EXIT_MOUNT, "create /dev/%s", dev_nodes[i]);
    char host[32], t[32];
    snprintf(host, sizeof host, "/dev/%s", dev_nodes[i]);
    if (mount(host, fd_path(target, t), NULL, MS_BIND, NULL) < 0) die_errno(EXIT_MOUNT, "mount %s", host);
  }
  if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0) die_errno(EXIT_MOUNT, "mkdir in /dev");
  autoclose int pts = openat(dev, "pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
  autoclose int shm = openat(dev, "shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pts < 0 || shm < 0) die_errno(EXIT_MOUNT, "open /dev/pts or /dev/shm");
  /* A new devpts instance: the container's terminals only, never the host's. gid=5 (tty) only
   * when that group is mapped. */
  mount_fd("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
           ms->single_id ? "newinstance,ptmxmode=0666,mode=620" : "newinstance,ptmxmode=0666,mode=620,gid=5",
           "devpts on /dev/pts");
  mount_fd("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k", "tmpfs on /dev/shm");
  static const char *const links[][2] = {{"ptmx", "pts/ptmx"},         {"fd", "/proc/self/fd"},
                                         {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                                         {"stderr", "/proc/self/fd/2"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlinkat(links[i][1], dev, links[i][0]) < 0) die_errno(EXIT_MOUNT, "symlink /dev/%s", links[i][0]);
}

static void mount_sys(const struct run_options *o, struct mount_state *ms) {
  autoclose int sys = api_dir(ms, "sys");
  char t[32];
  /* A fresh sysfs needs our own network namespace; with --net host, the host's, read-only. */
  if (o->net_host || mount("sysfs", fd_path(sys, t), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    autoclose int host = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (host < 0) die_errno(EXIT_MOUNT, "open the host's /sys");
    bind_fd(host, sys, true, "/sys");
    set_attr(ms, "/sys", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, true, "/sys");
  }
}

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* runc's masked paths below `under` ("/proc/" or "/sys/"): directories get an empty read-only
 * tmpfs, files /dev/null. */
static void mask_paths(struct mount_state *ms, const char *under) {
  for (size_t i = 0; i < sizeof masked_paths / sizeof *masked_paths; i++) {
    if (!has_prefix(masked_paths[i], under)) continue;
    autoclose int fd = inroot_open(ms->root_fd, masked_paths[i], O_PATH | O_NOFOLLOW);
    if (fd < 0) continue; /* absent on this kernel */
    struct stat st;
    if (fstat(fd, &st) < 0) die_errno(EXIT_MOUNT, "stat %s", masked_paths[i]);
    if (S_ISDIR(st.st_mode)) {
      mount_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0", masked_paths[i]);
    } else {
      autoclose int null = inroot_open(ms->root_fd, "/dev/null", O_PATH);
      if (null < 0) die_errno(EXIT_MOUNT, "open /dev/null");
      bind_fd(null, fd, false, masked_paths[i]);
    }
  }
  for (size_t i = 0; i < sizeof readonly_paths / sizeof *readonly_paths; i++) {
    if (!has_prefix(readonly_paths[i], under)) continue;
    autoclose int fd = inroot_open(ms->root_fd, readonly_paths[i], O_PATH | O_NOFOLLOW);
    if (fd < 0) continue;
    bind_fd(fd, fd, true, readonly_paths[i]);
    set_attr(ms, readonly_paths[i], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, true,
             readonly_paths[i]);
  }
}

void mounts_api_filesystems(struct mount_state *ms) {
  autoclose int proc = api_dir(ms, "proc");
  mount_fd("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc on /proc");
  mount_dev(ms);
  mask_paths(ms, "/proc/");
}

void mounts_sys(const struct run_options *o, struct mount_state *ms) {
  mount_sys(o, ms);
  mask_paths(ms, "/sys/");
}

void mounts_user_mounts(const struct run_options *o, struct mount_state *ms) {
  for (size_t i = 0; i < o->n_mounts; i++) {
    const struct mount_request *m = &o->mounts[i];
    bool src_is_file = false;
    if (m->src) {
      struct stat st;
      if (fstat(m->src_fd, &st) < 0) die_errno(EXIT_MOUNT, "stat bind source '%s'", m->src);
      src_is_file = !S_ISDIR(st.st_mode);
    }
    autoclose int dest = mkpath(ms, m->dest, src_is_file);
    if (dest < 0) die_errno(EXIT_MOUNT, "make mount point '%s' inside the root", m->dest);
    if (m->kind == MOUNT_TMPFS) {
      mount_fd("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755", m->dest);
      continue;
    }
    bind_fd(m->src_fd, dest, true, m->dest);
    close(m->src_fd);
    unsigned long long attrs = MOUNT_ATTR_NOSUID;
    if (m->kind != MOUNT_DEV_BIND) attrs |= MOUNT_ATTR_NODEV;
    if (m->kind == MOUNT_RO_BIND) attrs |= MOUNT_ATTR_RDONLY;
    set_attr(ms, m->dest, attrs, true, m->dest);
  }
}

void mounts_host_network_files(const struct run_options *o, struct mount_state *ms) {
  if (!o->net_host) return;
  static const char *const files[] = {"/etc/resolv.conf", "/etc/hosts"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    autoclose int src = open(files[i], O_PATH | O_CLOEXEC);
    if (src < 0) continue; /* the host has none: nothing to share */
    autoclose int dest = mkpath(ms, files[i], true);
    if (dest < 0) {
      warn_msg("cannot share the host's %s with the container (%s); name resolution may fail", files[i],
               strerror(errno));
      continue;
    }
    bind_fd(src, dest, false, files[i]);
    set_attr(ms, files[i], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false, files[i]);
  }
}

void mounts_finish_root(const struct run_options *o, struct mount_state *ms) {
  if (!o->read_only) return;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(ms->root_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    die_errno(EXIT_ROOTFS, "make the root read-only");
}

void mounts_pivot_root(struct mount_state *ms) {
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path back to
   * the host's tree (runc's approach, no temporary directory needed). */
  if (fchdir(ms->root_fd) < 0) die_errno(EXIT_ROOTFS, "chdir to the new root");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die_errno(EXIT_ROOTFS, "pivot_root");
  PHASE("init: pivoted");
  if (umount2(".", MNT_DETACH) < 0) die_errno(EXIT_ROOTFS, "detach the old root");
  if (chdir("/") < 0) die_errno(EXIT_ROOTFS, "chdir /");
  close(ms->root_fd);
  ms->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ms->root_fd < 0) die_errno(EXIT_ROOTFS, "open the new root");
}

void mounts_remove_created(struct mount_state *ms, bool read_only) {
  if (ms->n_created == 0) return;
  if (read_only) {
    struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};
    (void)mount_setattr(ms->root_fd, "", AT_EMPTY_PATH, &attr, sizeof attr);
  }
  for (size_t i = ms->n_created; i-- > 0;) {
    const struct created_path *c = &ms->created[i];
    autofree char *abs = xasprintf("/%s", c->path);
    while (umount2(abs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
    }
    /* Unlink through a parent reached without symlinks: the workload may have changed the tree. */
    autofree char *parent = xstrdup(c->path);
    char *slash = strrchr(parent, '/');
    const char *name = slash ? slash + 1 : c->path;
    if (slash) *slash = '\0';
    autoclose int dir = inroot_open_nofollow(ms->root_fd, slash ? parent : "/", O_PATH | O_DIRECTORY);
    if (dir >= 0) (void)unlinkat(dir, name, c->is_dir ? AT_REMOVEDIR : 0);
  }
}

/* After the container is gone (its mount namespace, and with it the overlay, unmounted): note
 * on the work dir that the run ended cleanly, so the next run on the same dirs may clear the
 * volatile marker (see mounts_make_root). An xattr where the file system has user xattrs (as an
 * overlay upper file system does), else an empty file, as earlier versions always made. */
void mounts_mark_clean_end(const struct run_options *o) {
  if (!o->work) return;
  if (setxattr(o->work, CLEAN_XATTR, "1", 1, 0) == 0) return;
  int err = errno;
  if (err == ENOTSUP) {
    autoclose int work = open(o->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int fd = work < 0 ? -1 : openat(work, CLEAN_MARK_FILE, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      return;
    }
    err = errno;
  }
  warn_msg("cannot mark the overlay work dir '%s' as cleanly ended (%s); use fresh dirs next time", o->work,
           strerror(err));
}
