/* Extended attributes, addressed through a directory fd and a name. The l*xattr calls take a
 * path, so the directory is named by its /proc/self/fd link: the directory was resolved inside the
 * root already, and the l-variants do not follow the final component. */
#include "xattrs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

int xattr_is_overlay(const char *name) {
  return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

int xattr_is_overlay_named(const char *name, const char *suffix) {
  const char *rest = NULL;
  if (strncmp(name, "trusted.overlay.", 16) == 0) rest = name + 16;
  else if (strncmp(name, "user.overlay.", 13) == 0) rest = name + 13;
  return rest && strcmp(rest, suffix) == 0;
}

static int fd_path(char *dst, size_t cap, int dirfd, const char *name) {
  int n = snprintf(dst, cap, "/proc/self/fd/%d/%s", dirfd, name);
  if (n < 0 || (size_t)n >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

ssize_t xattr_list_at(int dirfd, const char *name, char **buf) {
  char p[4096 + 64];
  *buf = NULL;
  if (fd_path(p, sizeof p, dirfd, name) < 0) return -1;
  for (;;) {
    ssize_t n = llistxattr(p, NULL, 0);
    if (n <= 0) return n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP) ? 0 : n;
    *buf = malloc((size_t)n);
    if (!*buf) return -1;
    ssize_t got = llistxattr(p, *buf, (size_t)n);
    if (got >= 0) return got;
    free(*buf);
    *buf = NULL;
    if (errno != ERANGE) return -1; /* ERANGE: the list grew in between; ask again */
  }
}

ssize_t xattr_get_at(int dirfd, const char *name, const char *attr, unsigned char **buf) {
  char p[4096 + 64];
  *buf = NULL;
  if (fd_path(p, sizeof p, dirfd, name) < 0) return -1;
  for (;;) {
    ssize_t n = lgetxattr(p, attr, NULL, 0);
    if (n < 0) return -1;
    *buf = malloc((size_t)n + 1);
    if (!*buf) return -1;
    ssize_t got = lgetxattr(p, attr, *buf, (size_t)n);
    if (got >= 0) return got;
    free(*buf);
    *buf = NULL;
    if (errno != ERANGE) return -1;
  }
}

int xattr_set_at(int dirfd, const char *name, const char *attr, const void *value, size_t len) {
  char p[4096 + 64];
  if (fd_path(p, sizeof p, dirfd, name) < 0) return -1;
  return lsetxattr(p, attr, value, len, 0);
}
