/* Reading and writing the framed record protocol (see records.h and native/README.md). */
#include "records.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}

int rec_in_init(struct rec_in *in, int fd, size_t cap) {
  memset(in, 0, sizeof *in);
  in->fd = fd;
  in->cap = cap;
  in->buf = malloc(cap);
  return in->buf ? 0 : -1;
}

static int rec_in_fill(struct rec_in *in) {
  in->pos = in->len = 0;
  for (;;) {
    ssize_t n = read(in->fd, in->buf, in->cap);
    if (n > 0) {
      in->len = (size_t)n;
      return 0;
    }
    if (n == 0) {
      errno = 0;
      return -1;
    }
    if (errno != EINTR) return -1;
  }
}

ssize_t rec_in_borrow(struct rec_in *in, const unsigned char **p, size_t max) {
  if (in->pos == in->len && rec_in_fill(in) < 0) return -1;
  size_t n = in->len - in->pos;
  if (n > max) n = max;
  *p = in->buf + in->pos;
  in->pos += n;
  in->offset += n;
  return (ssize_t)n;
}

int rec_in_read(struct rec_in *in, void *dst, size_t n) {
  unsigned char *d = dst;
  while (n > 0) {
    const unsigned char *p;
    ssize_t got = rec_in_borrow(in, &p, n);
    if (got < 0) return -1;
    memcpy(d, p, (size_t)got);
    d += got;
    n -= (size_t)got;
  }
  return 0;
}

static void read_error(struct rec_in *in, const char *what, char *err, size_t errlen, int *eof) {
  if (errno == 0) {
    if (eof) *eof = 1;
    snprintf(err, errlen, "input ended inside %s at byte %llu", what, (unsigned long long)in->offset);
  } else {
    snprintf(err, errlen, "reading %s: %s", what, strerror(errno));
  }
}

int rec_read_stream_header(struct rec_in *in, char *err, size_t errlen) {
  unsigned char h[REC_STREAM_HEADER_SIZE];
  if (rec_in_read(in, h, sizeof h) < 0) {
    read_error(in, "the stream header", err, errlen, NULL);
    return -1;
  }
  if (memcmp(h, REC_MAGIC, 4) != 0) {
    snprintf(err, errlen, "not a strata record stream (bad magic)");
    return -1;
  }
  if (get16(h + 4) != REC_VERSION) {
    snprintf(err, errlen, "record protocol version %u is not supported (this strata-box speaks %u)",
             get16(h + 4), REC_VERSION);
    return -1;
  }
  return 0;
}

/* Splits the xattr block into name/value pairs in place; names must be NUL-free and non-empty. */
static int parse_xattrs(struct record *r, size_t len, char *err, size_t errlen) {
  size_t off = 0, count = 0;
  /* Each entry is at least 6 bytes of lengths plus one name byte. */
  size_t max = len / 7 + 1;
  free(r->xattrs);
  r->xattrs = calloc(max, sizeof *r->xattrs);
  if (!r->xattrs) {
    snprintf(err, errlen, "out of memory for xattrs");
    return -1;
  }
  while (off < len) {
    if (len - off < 6) goto bad;
    size_t nlen = get16(r->xattr_buf + off);
    size_t vlen = get32(r->xattr_buf + off + 2);
    off += 6;
    if (nlen == 0 || nlen > REC_MAX_NAME || vlen > REC_MAX_XATTR_VALUE || len - off < nlen + vlen) goto bad;
    char *name = (char *)r->xattr_buf + off;
    if (memchr(name, 0, nlen)) goto bad;
    /* Move the name one byte left over its length field to make room for its NUL. */
    memmove(name - 1, name, nlen);
    name[nlen - 1] = 0;
    r->xattrs[count].name = name - 1;
    r->xattrs[count].value = r->xattr_buf + off + nlen;
    r->xattrs[count].value_len = (uint32_t)vlen;
    count++;
    off += nlen + vlen;
  }
  r->nxattrs = count;
  return 0;
bad:
  snprintf(err, errlen, "malformed xattr block");
  return -1;
}

static int read_string(struct rec_in *in, char *dst, size_t len, const char *what, char *err,
                       size_t errlen, int *eof) {
  if (rec_in_read(in, dst, len) < 0) {
    read_error(in, what, err, errlen, eof);
    return -1;
  }
  dst[len] = 0;
  if (memchr(dst, 0, len)) {
    snprintf(err, errlen, "%s contains a NUL byte", what);
    return -1;
  }
  return 0;
}

int rec_read(struct rec_in *in, struct record *r, char *err, size_t errlen, int *eof) {
  unsigned char h[REC_HEADER_SIZE];
  if (eof) *eof = 0;
  r->path[0] = r->link[0] = 0;
  r->nxattrs = 0;
  if (rec_in_read(in, h, sizeof h) < 0) {
    read_error(in, "a record header", err, errlen, eof);
    return -1;
  }
  r->kind = (char)h[0];
  size_t path_len = get16(h + 2), link_len = get16(h + 4);
  r->mode = get32(h + 8);
  r->uid = get32(h + 12);
  r->gid = get32(h + 16);
  r->mtime_nsec = get32(h + 20);
  r->mtime_sec = (int64_t)get64(h + 24);
  r->size = get64(h + 32);
  r->rdev_major = get32(h + 40);
  r->rdev_minor = get32(h + 44);
  size_t xattr_len = get32(h + 48);
  if (read_string(in, r->path, path_len, "path", err, errlen, eof) < 0) return -1;
  if (h[1] != 0 || get16(h + 6) != 0 || get32(h + 52) != 0) {
    snprintf(err, errlen, "record at byte %llu has non-zero reserved fields (a newer protocol?)",
             (unsigned long long)in->offset);
    return -1;
  }
  if (path_len > REC_MAX_PATH) {
    snprintf(err, errlen, "path of %zu bytes exceeds the limit of %d", path_len, REC_MAX_PATH);
    return -1;
  }
  if (link_len > REC_MAX_LINK) {
    snprintf(err, errlen, "link target of %zu bytes exceeds the limit of %d", link_len, REC_MAX_LINK);
    return -1;
  }
  if (xattr_len > REC_MAX_XATTRS) {
    snprintf(err, errlen, "xattrs of %zu bytes exceed the limit of %d", xattr_len, REC_MAX_XATTRS);
    return -1;
  }
  if (r->mode & ~07777u) {
    snprintf(err, errlen, "mode %o has bits beyond 07777", r->mode);
    return -1;
  }
  if (r->mtime_nsec >= 1000000000u) {
    snprintf(err, errlen, "mtime nanoseconds %u out of range", r->mtime_nsec);
    return -1;
  }
  if (read_string(in, r->link, link_len, "link target", err, errlen, eof) < 0) return -1;
  if (xattr_len > 0) {
    if (xattr_len > r->xattr_cap) {
      unsigned char *b = realloc(r->xattr_buf, xattr_len);
      if (!b) {
        snprintf(err, errlen, "out of memory for xattrs");
        return -1;
      }
      r->xattr_buf = b;
      r->xattr_cap = xattr_len;
    }
    if (rec_in_read(in, r->xattr_buf, xattr_len) < 0) {
      read_error(in, "xattrs", err, errlen, eof);
      return -1;
    }
    if (parse_xattrs(r, xattr_len, err, errlen) < 0) return -1;
  }
  return 0;
}

void rec_free(struct record *r) {
  free(r->xattrs);
  free(r->xattr_buf);
  r->xattrs = NULL;
  r->xattr_buf = NULL;
  r->xattr_cap = 0;
}

int rec_out_init(struct rec_out *out, int fd, size_t cap) {
  out->fd = fd;
  out->len = 0;
  out->cap = cap;
  out->buf = malloc(cap);
  return out->buf ? 0 : -1;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int rec_out_flush(struct rec_out *out) {
  int rc = write_all(out->fd, out->buf, out->len);
  out->len = 0;
  return rc;
}

int rec_out_write(struct rec_out *out, const void *src, size_t n) {
  if (out->len + n > out->cap) {
    if (rec_out_flush(out) < 0) return -1;
    if (n >= out->cap) return write_all(out->fd, src, n);
  }
  memcpy(out->buf + out->len, src, n);
  out->len += n;
  return 0;
}

int rec_write_stream_header(struct rec_out *out) {
  unsigned char h[REC_STREAM_HEADER_SIZE] = {0};
  memcpy(h, REC_MAGIC, 4);
  put16(h + 4, REC_VERSION);
  return rec_out_write(out, h, sizeof h);
}

int rec_write(struct rec_out *out, const struct record *r) {
  unsigned char h[REC_HEADER_SIZE] = {0};
  size_t path_len = strlen(r->path), link_len = strlen(r->link), xattr_len = 0;
  for (size_t i = 0; i < r->nxattrs; i++) xattr_len += 6 + strlen(r->xattrs[i].name) + r->xattrs[i].value_len;
  h[0] = (unsigned char)r->kind;
  put16(h + 2, (uint16_t)path_len);
  put16(h + 4, (uint16_t)link_len);
  put32(h + 8, r->mode);
  put32(h + 12, r->uid);
  put32(h + 16, r->gid);
  put32(h + 20, r->mtime_nsec);
  put64(h + 24, (uint64_t)r->mtime_sec);
  put64(h + 32, r->size);
  put32(h + 40, r->rdev_major);
  put32(h + 44, r->rdev_minor);
  put32(h + 48, (uint32_t)xattr_len);
  if (rec_out_write(out, h, sizeof h) < 0 || rec_out_write(out, r->path, path_len) < 0 ||
      rec_out_write(out, r->link, link_len) < 0)
    return -1;
  for (size_t i = 0; i < r->nxattrs; i++) {
    unsigned char lens[6];
    size_t nlen = strlen(r->xattrs[i].name);
    put16(lens, (uint16_t)nlen);
    put32(lens + 2, r->xattrs[i].value_len);
    if (rec_out_write(out, lens, 6) < 0 || rec_out_write(out, r->xattrs[i].name, nlen) < 0 ||
        rec_out_write(out, r->xattrs[i].value, r->xattrs[i].value_len) < 0)
      return -1;
  }
  return 0;
}

int rec_write_end(struct rec_out *out, const char *json) {
  unsigned char h[REC_HEADER_SIZE] = {0};
  size_t n = strlen(json);
  h[0] = REC_END;
  put64(h + 32, n);
  if (rec_out_write(out, h, sizeof h) < 0 || rec_out_write(out, json, n) < 0) return -1;
  return rec_out_flush(out);
}

void rec_json_string(char *dst, size_t cap, const char *s) {
  size_t len = strlen(dst);
  if (len + 1 >= cap) return;
  char *p = dst + len, *end = dst + cap - 8; /* room for one escape, the quote and the NUL */
  *p++ = '"';
  for (; *s && p < end; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    } else if (c < 0x20) {
      p += snprintf(p, 7, "\\u%04x", c);
    } else {
      *p++ = (char)c;
    }
  }
  *p++ = '"';
  *p = 0;
}

struct rec_report rec_report = {.cmd = "strata-box"};

void rec_fail(int code, const char *fmt, ...) {
  char msg[1024], json[2048] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char entry[260] = "";
  if (rec_report.entry) {
    /* An over-long or odd path is named by its start: enough to find it in the layer. */
    snprintf(entry, sizeof entry, "%.200s%s", rec_report.entry, strlen(rec_report.entry) > 200 ? "..." : "");
    fprintf(stderr, "strata-box %s: entry %llu '%s': %s\n", rec_report.cmd,
            (unsigned long long)rec_report.index, entry, msg);
  }
  else
    fprintf(stderr, "strata-box %s: %s\n", rec_report.cmd, msg);
  if (rec_report.out && !rec_report.in_data) {
    snprintf(json, sizeof json, "{\"ok\":false,\"exitCode\":%d,\"index\":%llu,\"entry\":", code,
             (unsigned long long)rec_report.index);
    rec_json_string(json, sizeof json - 1100, entry);
    strcat(json, ",\"error\":");
    rec_json_string(json, sizeof json - 2, msg);
    strcat(json, "}");
    rec_write_end(rec_report.out, json);
  }
  exit(code);
}

int rec_errno_exit(int err) {
  switch (err) {
  case ENOTDIR:
  case ELOOP:
  case ENOENT:
  case EXDEV:
  case EEXIST:
  case EISDIR:
  case ENAMETOOLONG:
  case EMLINK:
  case ENOTEMPTY:
    return EXIT_REC_REFUSED;
  default:
    return EXIT_REC_SYSTEM;
  }
}
