/* Is a plan still true? As git's index and ninja's log: the stat of every input as it was when
 * the plan was made (device, inode, size, mtime and ctime in ns, mode), every path that was
 * absent still absent, every stored object still present. A time not older than the plan's
 * creation by RACY_MARGIN_NS is not trusted ("racy git": a change within the same clock tick). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"

static uint64_t ns(const struct timespec *t) { return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec; }

/* value: "DEV INO SIZE MTIME_NS CTIME_NS MODE PATH" (snapshot.ts statValue). */
static bool stat_matches(const struct plan *p, const char *value, bool follow) {
  unsigned long long dev, ino, size, mtime, ctime, mode;
  int used = 0;
  if (sscanf(value, "%llu %llu %llu %llu %llu %llu %n", &dev, &ino, &size, &mtime, &ctime, &mode, &used) != 6 ||
      used == 0)
    return false;
  const char *path = value + used;
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return false;
  uint64_t m = ns(&st.st_mtim), c = ns(&st.st_ctim);
  if (m + RACY_MARGIN_NS >= p->created_ns || c + RACY_MARGIN_NS >= p->created_ns) return false;
  return st.st_dev == dev && st.st_ino == ino && (unsigned long long)st.st_size == size && m == mtime &&
         c == ctime && st.st_mode == mode;
}

bool plan_inputs_unchanged(const struct plan *p, const char **why) {
  for (size_t i = 0; i < p->n; i++) {
    const struct record *r = &p->recs[i];
    bool ok = true;
    if (strcmp(r->tag, "stat") == 0) ok = stat_matches(p, r->value, true);
    else if (strcmp(r->tag, "lstat") == 0) ok = stat_matches(p, r->value, false);
    else if (strcmp(r->tag, "absent") == 0) {
      struct stat st;
      ok = stat(r->value, &st) != 0 && errno == ENOENT;
    } else
      continue;
    if (!ok) {
      *why = r->value;
      return false;
    }
  }
  return true;
}

bool plan_objects_present(const struct plan *p, const char **why) {
  for (size_t i = 0; i < p->n; i++) {
    if (strcmp(p->recs[i].tag, "exists") == 0 && access(p->recs[i].value, F_OK) != 0) {
      *why = p->recs[i].value;
      return false;
    }
  }
  return true;
}
