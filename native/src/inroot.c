/* Resolution inside a root with openat2(2) (Linux 5.6; overlayfs in a user namespace needs 5.11,
 * so every kernel strata-box runs on has it). */
#include "inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

static int openat2_in(int root_fd, const char *path, int flags, unsigned long long resolve) {
  while (*path == '/') path++;
  if (!*path) path = ".";
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve};
  int fd;
  do fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN); /* a concurrent rename in the tree: retry, as the man page says */
  return fd;
}

int inroot_open(int root_fd, const char *path, int flags) {
  return openat2_in(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int inroot_open_nofollow(int root_fd, const char *path, int flags) {
  return openat2_in(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
}

int inroot_mkpath(int root_fd, const char *path, bool leaf_is_file, inroot_created_fn created, void *ctx) {
  autofree char *rel = xstrdup(path);
  char *p = rel;
  while (*p == '/') p++;
  size_t len = strlen(p);
  while (len > 0 && p[len - 1] == '/') p[--len] = '\0';
  if (len == 0) return inroot_open(root_fd, "/", O_PATH | O_DIRECTORY);

  autoclose int parent = inroot_open(root_fd, "/", O_PATH | O_DIRECTORY);
  if (parent < 0) return -1;
  for (char *slash = p;; slash++) {
    if (*slash != '/' && *slash != '\0') continue;
    bool last = *slash == '\0';
    char saved = *slash;
    *slash = '\0';
    const char *name = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
    if (strcmp(name, "..") == 0) {
      errno = EINVAL; /* refused rather than resolved: a destination means one place */
      return -1;
    }
    int fd = inroot_open(root_fd, p, O_PATH);
    if (fd < 0 && errno == ENOENT && *name && strcmp(name, ".") != 0) {
      int r;
      if (last && leaf_is_file) {
        r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) close(r);
      } else {
        r = mkdirat(parent, name, 0755);
      }
      if (r < 0 && errno != EEXIST) return -1;
      fd = inroot_open(root_fd, p, O_PATH);
      if (r >= 0 && fd >= 0 && created) created(p, fd, !(last && leaf_is_file), ctx);
    }
    if (fd < 0) return -1;
    *slash = saved;
    if (last) return fd;
    close(parent);
    parent = fd;
    struct stat st;
    if (fstat(parent, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return -1;
    }
  }
}

const char *fd_path(int fd, char buf[static 32]) {
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
  return buf;
}
