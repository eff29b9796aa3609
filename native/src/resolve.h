/* Path resolution inside a root directory: every symlink is resolved as if the root were "/",
 * so no path can name anything outside it (CVE-2018-15664, CVE-2021-30465 class). */
#ifndef STRATA_RESOLVE_H
#define STRATA_RESOLVE_H

/* Opens path (relative, canonical: see path_check) inside the root rootfd as a directory, with
 * O_PATH. Uses openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV) and, where the kernel
 * lacks openat2 (before 5.6) or STRATA_BOX_NO_OPENAT2 is set, an equivalent component walk.
 * "" and "." name the root itself. Returns an fd or -1 with errno. */
int resolve_dir(int rootfd, const char *path);

/* Splits a canonical path into its parent, opened with resolve_dir (creating missing parent
 * directories with mode 0755 when create is set), and its last component (a pointer into path).
 * Returns the parent fd or -1 with errno. */
int resolve_parent(int rootfd, const char *path, int create, const char **name);

/* Checks that path is relative and canonical: no leading or trailing '/', no empty, "." or ".."
 * components, components of at most NAME_MAX bytes, at most REC_MAX_DEPTH of them. "." alone names
 * the root. Returns NULL when sound, else what is wrong. */
const char *path_check(const char *path);

/* True when resolution uses openat2 (for tests and --version output). */
int resolve_uses_openat2(void);

#endif
