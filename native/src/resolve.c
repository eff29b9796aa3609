/* Resolution of paths inside a root (see resolve.h). The fallback walk mirrors what openat2's
 * RESOLVE_IN_ROOT does: ".." never climbs above the root and an absolute symlink restarts at it. */
#include "resolve.h"
#include "records.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYMLINKS 40 /* as the kernel's MAXSYMLINKS */

static int openat2_state = -1; /* -1 unknown, 0 missing, 1 present */

int resolve_uses_openat2(void) {
  if (openat2_state < 0) {
    const char *off = getenv("STRATA_BOX_NO_OPENAT2");
    openat2_state = !(off && *off && strcmp(off, "0") != 0);
  }
  return openat2_state;
}

static int resolve_with_openat2(int rootfd, const char *path) {
  struct open_how how = {
      .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  for (;;) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    /* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
    if (errno != EAGAIN && errno != EINTR) return -1;
  }
}

/* The walk: a work list of components (the path, then symlink targets spliced in front of the
 * rest) and a stack of the names resolved so far, reopened from the root after a "..". */
struct walk {
  char *work;      /* remaining components, '/'-separated, consumed from the front */
  char **stack;    /* resolved component names */
  size_t depth, cap;
};

static int reopen_stack(int rootfd, struct walk *w) {
  int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; fd >= 0 && i < w->depth; i++) {
    int next = openat(fd, w->stack[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    fd = next;
  }
  return fd;
}

static int resolve_by_walk(int rootfd, const char *path) {
  struct walk w = {0};
  int fd = -1, links = 0, saved;
  size_t wlen = strlen(path);
  w.work = malloc(wlen + 1);
  if (!w.work) return -1;
  memcpy(w.work, path, wlen + 1);
  fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char *cur = w.work;
  while (fd >= 0 && *cur) {
    char *slash = strchr(cur, '/');
    size_t n = slash ? (size_t)(slash - cur) : strlen(cur);
    char name[REC_MAX_NAME + 1];
    if (n > REC_MAX_NAME) {
      errno = ENAMETOOLONG;
      goto fail;
    }
    memcpy(name, cur, n);
    name[n] = 0;
    cur += n + (slash ? 1 : 0);
    if (n == 0 || strcmp(name, ".") == 0) continue;
    if (strcmp(name, "..") == 0) {
      if (w.depth > 0) free(w.stack[--w.depth]);
      close(fd);
      fd = reopen_stack(rootfd, &w);
      continue;
    }
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) goto fail;
    if (S_ISLNK(st.st_mode)) {
      if (++links > MAX_SYMLINKS) {
        errno = ELOOP;
        goto fail;
      }
      char target[REC_MAX_LINK + 1];
      ssize_t tl = readlinkat(fd, name, target, sizeof target - 1);
      if (tl < 0) goto fail;
      target[tl] = 0;
      /* New work list: target + "/" + the rest. */
      size_t rest = strlen(cur);
      char *nw = malloc((size_t)tl + 1 + rest + 1);
      if (!nw) goto fail;
      memcpy(nw, target, (size_t)tl);
      nw[tl] = '/';
      memcpy(nw + tl + 1, cur, rest + 1);
      free(w.work);
      w.work = cur = nw;
      if (target[0] == '/') { /* absolute: restart at the root, never at the host's "/" */
        while (w.depth > 0) free(w.stack[--w.depth]);
        close(fd);
        fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      goto fail;
    }
    if (st.st_dev != 0) {
      struct stat rst;
      if (fstat(rootfd, &rst) == 0 && rst.st_dev != st.st_dev) { /* as RESOLVE_NO_XDEV */
        errno = EXDEV;
        goto fail;
      }
    }
    /* O_NOFOLLOW: a symlink swapped in since the fstatat is refused, not followed. */
    int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) goto fail;
    close(fd);
    fd = next;
    if (w.depth == w.cap) {
      size_t cap = w.cap ? w.cap * 2 : 16;
      char **s = realloc(w.stack, cap * sizeof *s);
      if (!s) goto fail;
      w.stack = s;
      w.cap = cap;
    }
    w.stack[w.depth] = strdup(name);
    if (!w.stack[w.depth]) goto fail;
    w.depth++;
  }
  saved = errno;
  while (w.depth > 0) free(w.stack[--w.depth]);
  free(w.stack);
  free(w.work);
  errno = saved;
  return fd;
fail:
  saved = errno;
  if (fd >= 0) close(fd);
  while (w.depth > 0) free(w.stack[--w.depth]);
  free(w.stack);
  free(w.work);
  errno = saved;
  return -1;
}

int resolve_dir(int rootfd, const char *path) {
  if (path[0] == 0) path = ".";
  if (resolve_uses_openat2()) {
    int fd = resolve_with_openat2(rootfd, path);
    if (fd >= 0 || errno != ENOSYS) return fd;
    openat2_state = 0;
  }
  return resolve_by_walk(rootfd, path);
}

int resolve_parent(int rootfd, const char *path, int create, const char **name) {
  const char *slash = strrchr(path, '/');
  char parent[REC_MAX_PATH + 1];
  size_t plen = slash ? (size_t)(slash - path) : 0;
  *name = slash ? slash + 1 : path;
  memcpy(parent, path, plen);
  parent[plen] = 0;
  int fd = resolve_dir(rootfd, parent);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  /* Missing parents: create each one in turn, each resolved inside the root again. */
  for (size_t i = 0; i <= plen; i++) {
    if (i < plen && parent[i] != '/') continue;
    char saved = parent[i];
    parent[i] = 0;
    const char *comp;
    int up = resolve_parent(rootfd, parent, 0, &comp);
    if (up < 0) return -1;
    if (mkdirat(up, comp, 0755) < 0 && errno != EEXIST) {
      int e = errno;
      close(up);
      errno = e;
      return -1;
    }
    close(up);
    parent[i] = saved;
  }
  return resolve_dir(rootfd, parent);
}

const char *path_check(const char *path) {
  if (strcmp(path, ".") == 0) return NULL;
  if (path[0] == 0) return "the path is empty";
  if (path[0] == '/') return "the path is absolute";
  size_t depth = 0;
  for (const char *p = path;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0) return "the path has an empty component (\"//\" or a trailing '/')";
    if (n == 1 && p[0] == '.') return "the path has a \".\" component";
    if (n == 2 && p[0] == '.' && p[1] == '.') return "the path has a \"..\" component";
    if (n > REC_MAX_NAME) return "a path component is longer than 255 bytes";
    if (++depth > REC_MAX_DEPTH) return "the path is deeper than 256 components";
    if (!slash) return NULL;
    p = slash + 1;
  }
}
