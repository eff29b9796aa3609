/* Buffers, JSON string escaping, the fallback to Node, and small file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"

void buf_add(struct buf *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
}

void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_printf(struct buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  if ((size_t)n < sizeof small) {
    buf_add(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) abort();
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf_add(b, big, (size_t)n);
  free(big);
}

void buf_json(struct buf *b, const char *s) {
  buf_str(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': buf_str(b, "\\\""); break;
      case '\\': buf_str(b, "\\\\"); break;
      case '\b': buf_str(b, "\\b"); break;
      case '\f': buf_str(b, "\\f"); break;
      case '\n': buf_str(b, "\\n"); break;
      case '\r': buf_str(b, "\\r"); break;
      case '\t': buf_str(b, "\\t"); break;
      default:
        if (*p < 0x20) buf_printf(b, "\\u%04x", *p);
        else buf_add(b, p, 1);
    }
  }
  buf_str(b, "\"");
}

void trace(const struct invocation *inv, const char *fmt, ...) {
  if (!inv->trace) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("strata: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* `node ROOT/out/cli.js ARGS...`: exactly what bin/strata runs without a front end. */
void fall_back(const struct invocation *inv, const char *why) {
  trace(inv, "no cached plan (%s)", why);
  struct buf cli = {0};
  buf_printf(&cli, "%s/out/cli.js", inv->root);
  char **argv = calloc((size_t)inv->argc + 3, sizeof *argv);
  if (!argv) abort();
  argv[0] = "node";
  argv[1] = cli.p;
  for (int i = 0; i < inv->argc; i++) argv[i + 2] = inv->argv[i];
  execvp("node", argv);
  fprintf(stderr, "strata: cannot run node: %s\n  hint: install Node.js 20 or newer and put it on PATH\n",
          strerror(errno));
  exit(125);
}

void random_hex(char *out, size_t nhex) {
  unsigned char bytes[32];
  size_t need = (nhex + 1) / 2;
  if (need > sizeof bytes || getrandom(bytes, need, 0) != (ssize_t)need) {
    /* getrandom only fails before the pool is ready at boot: time and pid still make names unique */
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t x = (uint64_t)t.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)t.tv_sec;
    for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (unsigned char)(x >> (8 * (i % 8))) ^ (unsigned char)i;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < nhex; i++) out[i] = hex[(bytes[i / 2] >> (i % 2 ? 0 : 4)) & 15];
  out[nhex] = 0;
}

bool read_file(const char *file, size_t limit, char **out, size_t *len) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct buf b = {0};
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || b.len + (size_t)n > limit) {
      close(fd);
      free(b.p);
      return false;
    }
    if (n == 0) break;
    buf_add(&b, chunk, (size_t)n);
  }
  close(fd);
  if (!b.p) buf_add(&b, "", 0);
  *out = b.p;
  *len = b.len;
  return true;
}

/* Removes what `at`/`name` names; folders a container made may lack the read or write bit, so
 * each folder is opened up (u+rwx) before it is read, as removeTreeForce does in store/. */
static void remove_at(int at, const char *name, int depth) {
  if (unlinkat(at, name, 0) == 0 || errno == ENOENT) return;
  if (depth > 256) return;
  struct stat st;
  /* Never through a symlink: only our own folders are opened up (the container has exited). */
  if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) return;
  if ((st.st_mode & S_IRWXU) != S_IRWXU && fchmodat(at, name, S_IRWXU, 0) != 0) return;
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    remove_at(dirfd(d), e->d_name, depth + 1);
  }
  closedir(d);
  unlinkat(at, name, AT_REMOVEDIR);
}

void remove_tree(const char *dir) {
  /* Usually empty but for overlay's work/work: a few rmdir calls, as engine/run/run.ts does. */
  const char *parts[] = {"/upper", "/work/work", "/work", ""};
  bool simple = true;
  for (size_t i = 0; i < 4 && simple; i++) {
    struct buf p = {0};
    buf_printf(&p, "%s%s", dir, parts[i]);
    if (rmdir(p.p) != 0) simple = false;
    free(p.p);
  }
  if (simple) return;
  remove_at(AT_FDCWD, dir, 0);
}
