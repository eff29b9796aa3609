/* Shared helpers: errors, allocation, small-file and full-buffer I/O, JSON strings. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

int g_status_fd = -1;
void (*g_on_die)(int code);

static void vreport(int code, int err, const char *fmt, va_list ap) {
  char msg[1024];
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  if (n < 0) msg[0] = '\0';
  if (err != 0) {
    size_t used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, ": %s", strerror(err));
  }
  /* One line on stderr, written at once so that it is not interleaved with the workload's. */
  char line[1100];
  int len = snprintf(line, sizeof line, "strata-box: %s%s\n", code == 0 ? "warning: " : "", msg);
  if (len > 0) (void)!write(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
  if (code == 0)
    status_warning(msg);
  else
    status_error(code, msg);
}

void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(code, 0, fmt, ap);
  va_end(ap);
  if (g_on_die) g_on_die(code);
  _exit(code);
}

void die_errno(int code, const char *fmt, ...) {
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vreport(code, err, fmt, ap);
  va_end(ap);
  if (g_on_die) g_on_die(code);
  _exit(code);
}

void warn_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(0, 0, fmt, ap);
  va_end(ap);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die(EXIT_INTERNAL, "out of memory");
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) die(EXIT_INTERNAL, "out of memory");
  return p;
}

char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (!p) die(EXIT_INTERNAL, "out of memory");
  return p;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = NULL;
  int n = vasprintf(&p, fmt, ap);
  va_end(ap);
  if (n < 0) die(EXIT_INTERNAL, "out of memory");
  return p;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = 0;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int write_file_at(int dirfd, const char *path, const char *content) {
  int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  int r = write_all(fd, content, strlen(content));
  int saved = errno;
  close(fd);
  errno = saved;
  return r;
}

char *read_file_at(int dirfd, const char *path, size_t max) {
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  char *buf = xmalloc(max + 1);
  size_t used = 0;
  while (used < max) {
    ssize_t n = read(fd, buf + used, max - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      free(buf);
      close(fd);
      errno = saved;
      return NULL;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  return buf;
}

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t want = (*cap ? *cap * 2 : 128);
    while (want < *len + n + 1) want *= 2;
    char *p = realloc(*buf, want);
    if (!p) die(EXIT_INTERNAL, "out of memory");
    *buf = p;
    *cap = want;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
}

void json_append_string(char **buf, size_t *len, size_t *cap, const char *s) {
  append(buf, len, cap, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      append(buf, len, cap, esc, 2);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      append(buf, len, cap, esc, 6);
    } else {
      append(buf, len, cap, (const char *)p, 1);
    }
  }
  append(buf, len, cap, "\"", 1);
}
