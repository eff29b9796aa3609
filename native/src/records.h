/* The framed record protocol between the engine (TypeScript) and `strata-box apply` / `scan`.
 * Documented in native/README.md ("Record protocol"); server/src/engine/sandbox/records.ts is the
 * other end. All integers are little-endian. */
#ifndef STRATA_RECORDS_H
#define STRATA_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REC_MAGIC "STRB"
#define REC_VERSION 1
#define REC_STREAM_HEADER_SIZE 8
#define REC_HEADER_SIZE 56

/* Hard limits, checked on both ends: a layer that needs more is refused, not truncated. */
#define REC_MAX_PATH 4095       /* bytes of a path inside the root (PATH_MAX - 1) */
#define REC_MAX_NAME 255        /* bytes of one path component (NAME_MAX) */
#define REC_MAX_DEPTH 256       /* components of a path */
#define REC_MAX_LINK 4095       /* bytes of a symlink target or hardlink source */
#define REC_MAX_XATTRS 1048576  /* bytes of one record's xattr block */
#define REC_MAX_XATTR_VALUE 65536
#define REC_MAX_SUMMARY 65536   /* bytes of the JSON carried by an end record */

enum rec_kind {
  REC_DIR = 'd',
  REC_FILE = 'f',
  REC_SYMLINK = 'l',
  REC_HARDLINK = 'h',
  REC_WHITEOUT = 'w',
  REC_OPAQUE = 'o',
  REC_CHAR = 'c',
  REC_BLOCK = 'b',
  REC_FIFO = 'p',
  REC_END = 'E',
};

/* Exit codes of apply and scan, in the class range of util.h (240 and up) so that callers see
 * one scheme: usage 240 (EXIT_USAGE), refused 247 (EXIT_IMAGE: the layer is unsafe or malformed),
 * stream 250 (EXIT_IO), and 251 for a file-system call that failed on a sound entry. */
enum rec_exit {
  EXIT_REC_OK = 0,
  EXIT_REC_USAGE = 240,
  EXIT_REC_REFUSED = 247,
  EXIT_REC_STREAM = 250,
  EXIT_REC_SYSTEM = 251,
};

struct rec_xattr {
  const char *name; /* NUL-terminated, points into the record's xattr buffer */
  const unsigned char *value;
  uint32_t value_len;
};

/* One decoded record header with its variable parts (path, link, xattrs). File data follows in
 * the stream and is read separately, so it is never buffered whole. */
struct record {
  char kind;
  uint32_t mode; /* permission bits only: 07777 */
  uint32_t uid, gid;
  int64_t mtime_sec;
  uint32_t mtime_nsec;
  uint64_t size; /* data bytes that follow (files, end records) */
  uint32_t rdev_major, rdev_minor;
  char path[65536]; /* room for any u16 length, so that an over-long path can still be named */
  char link[REC_MAX_LINK + 1];
  size_t nxattrs;
  struct rec_xattr *xattrs;
  unsigned char *xattr_buf; /* owned; names are NUL-terminated in place */
  size_t xattr_cap;
};

/* Buffered reader and writer over a file descriptor (large buffers: few system calls). */
struct rec_in {
  int fd;
  unsigned char *buf;
  size_t pos, len, cap;
  uint64_t offset; /* bytes consumed so far, for error messages */
};

struct rec_out {
  int fd;
  unsigned char *buf;
  size_t len, cap;
};

int rec_in_init(struct rec_in *in, int fd, size_t cap);
/* Reads exactly n bytes; returns 0, or -1 with errno (0 for end of input). */
int rec_in_read(struct rec_in *in, void *dst, size_t n);
/* Hands out up to max bytes of buffered input without copying, refilling when empty. */
ssize_t rec_in_borrow(struct rec_in *in, const unsigned char **p, size_t max);
/* Reads and checks the stream header; returns 0 or -1 with a message in err. */
int rec_read_stream_header(struct rec_in *in, char *err, size_t errlen);
/* Reads one record header and its path, link and xattrs; validation of meaning is the caller's.
 * Returns 0, or -1 with a message in err (and *eof set when the input simply ended). */
int rec_read(struct rec_in *in, struct record *r, char *err, size_t errlen, int *eof);
void rec_free(struct record *r);

int rec_out_init(struct rec_out *out, int fd, size_t cap);
int rec_out_write(struct rec_out *out, const void *src, size_t n);
int rec_out_flush(struct rec_out *out);
int rec_write_stream_header(struct rec_out *out);
/* Writes a record header and its path, link and xattrs; data (r->size bytes) is the caller's. */
int rec_write(struct rec_out *out, const struct record *r);
/* Writes an end record carrying a JSON summary, and flushes. */
int rec_write_end(struct rec_out *out, const char *json);

/* Where apply and scan report a failure: the command, the entry being handled and the output on
 * which an end record tells the caller what failed (set by the command as it goes). */
struct rec_report {
  const char *cmd;
  const char *entry; /* NULL outside an entry */
  uint64_t index;
  struct rec_out *out; /* NULL before the output is set up */
  int in_data;         /* inside a file's data on out: an end record there would be read as data */
};
extern struct rec_report rec_report;

/* The one place apply and scan stop: "strata-box CMD: entry N 'PATH': MSG" on stderr, an end
 * record {"ok":false,"exitCode","index","entry","error"} on the output, then exit(code). */
__attribute__((noreturn, format(printf, 2, 3))) void rec_fail(int code, const char *fmt, ...);
#define REC_FAIL_ERRNO(code, what, ...) rec_fail(code, what ": %s", ##__VA_ARGS__, strerror(errno))

/* The exit code for a failed file-system call: errors that the entries themselves cause (a path
 * through a file, a symlink where a directory must be, a missing hardlink source) refuse the
 * layer (247); the rest (no space, read-only, I/O) are the machine's (251). */
int rec_errno_exit(int err);
#define REC_FAIL_FS(what, ...)                                                             \
  do {                                                                                    \
    int e_ = errno;                                                                       \
    rec_fail(rec_errno_exit(e_), what ": %s", ##__VA_ARGS__, strerror(e_));               \
  } while (0)

/* Appends s to dst (capacity cap) as a JSON string literal, with quotes. */
void rec_json_string(char *dst, size_t cap, const char *s);

#endif
