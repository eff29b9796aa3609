/* Paths resolved inside a root directory (CVE-2021-30465 class: a symlink in an image must not
 * redirect a mount or a write onto the host). Uses openat2(2) with RESOLVE_IN_ROOT, so a symlink
 * to /etc inside the image means the image's /etc, and ".." stops at the root. */
#ifndef STRATA_INROOT_H
#define STRATA_INROOT_H

#include <stdbool.h>

/* Opens `path` (absolute or relative, meaning the same) below root_fd; -1 with errno. */
int inroot_open(int root_fd, const char *path, int flags);
/* As inroot_open, but refusing any symlink on the way (for cleaning up what we created). */
int inroot_open_nofollow(int root_fd, const char *path, int flags);

/* Callback told about each path component that inroot_mkpath had to create: its path as asked
 * for (which may pass through symlinks) and an O_PATH fd of what was made. */
typedef void (*inroot_created_fn)(const char *relpath, int fd, bool is_dir, void *ctx);

/* Opens `path` below root_fd as O_PATH, creating missing directories and, when `leaf_is_file`,
 * an empty regular file as the last component. -1 with errno. */
int inroot_mkpath(int root_fd, const char *path, bool leaf_is_file, inroot_created_fn created, void *ctx);

/* "/proc/self/fd/N": a path naming exactly the file behind fd, for mount(2) sources and targets. */
const char *fd_path(int fd, char buf[static 32]);

#endif
