/* What glibc (2.36) declares and musl (1.2.3) does not. strata-box is linked against musl where
 * musl-gcc exists, because glibc's start-up is slow where it matters most (see the Makefile), and
 * against glibc elsewhere and for the sanitizer build: the code must compile with both. */
#ifndef STRATA_LIBC_COMPAT_H
#define STRATA_LIBC_COMPAT_H

#ifndef __GLIBC__
#include <linux/close_range.h>
#include <linux/mount.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int close_range(unsigned first, unsigned last, int flags) {
  return (int)syscall(SYS_close_range, first, last, flags);
}

static inline int mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr, size_t size) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}
#endif

#endif
