/* Shared helpers: one error style (die with a class exit code), cleanup attributes as in
 * bubblewrap's utils.h, small I/O helpers. Keep additions small: both subcommand families use it. */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Exit codes of strata-box's own failures, one per class (documented in native/README.md).
 * They sit above the range shells and workloads use (0-125 programs, 126/127 exec, 128+N signals),
 * so a caller can tell a sandbox failure from a workload's exit; the status fd makes it certain. */
enum exit_class {
  EXIT_USAGE = 240,     /* bad command line */
  EXIT_USERNS = 241,    /* user namespace or uid/gid mapping */
  EXIT_NAMESPACE = 242, /* other namespaces, hostname, loopback */
  EXIT_ROOTFS = 243,    /* root file system or overlay mount, pivot_root */
  EXIT_MOUNT = 244,     /* /proc, /sys, /dev, binds, tmpfs, masking */
  EXIT_CGROUP = 245,    /* a writable cgroup refused a limit */
  EXIT_HARDEN = 246,    /* capabilities, no_new_privs, seccomp, fd closing */
  EXIT_IMAGE = 247,     /* the image is unsafe or unusable (symlinked /proc, bad cwd, unmapped uid) */
  EXIT_INTERNAL = 248,  /* fork, pipes, memfd re-exec, I/O between our own processes */
  EXIT_TTY = 249,       /* pseudo-terminal */
  EXIT_IO = 250,        /* apply/scan: input, output or record protocol */
};

/* Exit codes for a workload that could not be started, as POSIX shells use them. */
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

/* Prints "strata-box: MSG" (plus ": strerror(errno)" for die_errno) on stderr, writes an `error`
 * event to the status fd when one is set, and exits with the class code. */
__attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void die_errno(int code, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn_msg(const char *fmt, ...);

/* The --status-fd (or -1); die() and warn_msg() also report there. */
extern int g_status_fd;
/* Called by die() with the exit code just before exiting (cleanup a process must not skip). */
extern void (*g_on_die)(int code);

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) close(*fd);
}
#define autofree __attribute__((cleanup(cleanup_freep)))
#define autoclose __attribute__((cleanup(cleanup_closep)))

/* Returns *fd and leaves -1 behind, so an autoclose variable can hand its fd on. */
static inline int steal_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

/* Full write/read, retrying on EINTR and short transfers. Return 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len); /* -1 with errno 0 on early EOF */
/* Writes a whole small file (e.g. /proc/PID/uid_map). 0 or -1 with errno. */
int write_file_at(int dirfd, const char *path, const char *content);
/* Reads a small file into a NUL-terminated malloc'd buffer; NULL with errno. */
char *read_file_at(int dirfd, const char *path, size_t max);

/* Parses a whole decimal number in [min, max]; false when malformed or out of range. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Appends s to buf as a JSON string literal (with quotes); buf grows as needed. */
void json_append_string(char **buf, size_t *len, size_t *cap, const char *s);

#endif
