/* Reads a plan: records `TAG LEN\nVALUE\n` (server/src/engine/plan/format.ts). A malformed plan
 * is no plan. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"

#define PLAN_LIMIT (16u << 20)

bool plan_load(const char *file, struct plan *p) {
  size_t len;
  memset(p, 0, sizeof *p);
  /* A plan names the helper and argv to run: only one this user wrote, that no one else can edit. */
  struct stat st;
  if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) return false;
  if (!read_file(file, PLAN_LIMIT, &p->data, &len)) return false;
  size_t cap = 0, at = 0;
  while (at < len) {
    char *nl = memchr(p->data + at, '\n', len - at);
    if (!nl) return false;
    char *space = memchr(p->data + at, ' ', (size_t)(nl - (p->data + at)));
    if (!space) return false;
    *space = 0;
    char *end;
    unsigned long long n = strtoull(space + 1, &end, 10);
    if (end != nl || space + 1 == nl) return false;
    size_t start = (size_t)(nl - p->data) + 1;
    if (n > len || start + n + 1 > len || p->data[start + n] != '\n') return false;
    p->data[start + n] = 0; /* the value's own newline becomes its terminator */
    if (p->n == cap) {
      cap = cap ? cap * 2 : 64;
      struct record *r = realloc(p->recs, cap * sizeof *r);
      if (!r) abort();
      p->recs = r;
    }
    p->recs[p->n++] = (struct record){p->data + at, p->data + start, (size_t)n};
    at = start + (size_t)n + 1;
  }
  const char *format = plan_get(p, "format");
  const char *created = plan_get(p, "created");
  if (!format || strcmp(format, PLAN_FORMAT) != 0 || !created) return false;
  p->created_ns = strtoull(created, NULL, 10);
  return p->created_ns > 0;
}

const char *plan_get(const struct plan *p, const char *tag) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->recs[i].tag, tag) == 0) return p->recs[i].value;
  return NULL;
}
