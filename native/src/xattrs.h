/* Extended attributes of layer entries: which are copied, and the overlayfs markers we write. */
#ifndef STRATA_XATTRS_H
#define STRATA_XATTRS_H

#include <stddef.h>
#include <sys/types.h>

/* Where overlayfs looks for its own xattrs: "trusted.overlay." (mounted by real root) or
 * "user.overlay." (mounted with `userxattr`, as in a user namespace). */
enum overlay_ns { OVERLAY_TRUSTED = 1, OVERLAY_USER = 2 };

/* True for xattrs that steer overlayfs (trusted.overlay.*, user.overlay.*): never copied from a
 * layer, since a layer could otherwise redirect lookups or hide files (CVE-2021-3493 class). */
int xattr_is_overlay(const char *name);

/* True when name is the overlay xattr `suffix` (e.g. "opaque") in either namespace. */
int xattr_is_overlay_named(const char *name, const char *suffix);

/* Lists the xattr names of the file `name` in the directory dirfd without following a final
 * symlink. Fills *buf (malloc'd, names NUL-separated) and returns its length, or -1 with errno. */
ssize_t xattr_list_at(int dirfd, const char *name, char **buf);

/* Reads one xattr value of `name` in dirfd (no final symlink followed) into *buf (malloc'd). */
ssize_t xattr_get_at(int dirfd, const char *name, const char *attr, unsigned char **buf);

/* Sets an xattr on `name` in dirfd without following a final symlink. */
int xattr_set_at(int dirfd, const char *name, const char *attr, const void *value, size_t len);

#endif
