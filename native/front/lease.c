/* A lease on the image for the run, in the protocol of server/src/engine/store/lock.ts: under the
 * store's shared lock (a `shared-<pid>-<token>` owner file, valid while no `exclusive` file
 * exists), a file `lease-r-<pid>-<hex>.json` holding {"pid","roots"} in tmp/locks/. `strata gc`
 * keeps whatever a live lease's roots reach. When gc holds the store, the run is left to Node,
 * which waits for it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "front.h"

/* Field 22 of /proc/self/stat (start time in clock ticks), as processStart() reads it. */
static void process_start(char out[32]) {
  char *text;
  size_t len;
  out[0] = 0;
  if (!read_file("/proc/self/stat", 4096, &text, &len)) return;
  char *p = strrchr(text, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (p) sscanf(p + 1, "%31[0-9]", out);
  free(text);
}

static bool write_new(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  if (!ok) unlink(file);
  return ok;
}

char *lease_take(const char *home, const char *root) {
  char token[17], start[32], hex[13];
  struct utsname u;
  random_hex(token, 16);
  random_hex(hex, 12);
  process_start(start);
  if (uname(&u) != 0) return NULL;
  struct buf locks = {0}, shared = {0}, owner = {0}, lease = {0}, tmp = {0}, body = {0};
  buf_printf(&locks, "%s/tmp/locks", home);
  buf_printf(&shared, "%s/shared-%d-%s", locks.p, (int)getpid(), token);
  buf_printf(&owner, "{\"pid\":%d,\"start\":", (int)getpid());
  buf_json(&owner, start);
  buf_str(&owner, ",\"host\":");
  buf_json(&owner, u.nodename);
  buf_printf(&owner, ",\"token\":\"%s\"}", token);
  char *result = NULL;
  if (write_new(shared.p, owner.p)) {
    struct buf excl = {0};
    buf_printf(&excl, "%s/exclusive", locks.p);
    if (access(excl.p, F_OK) != 0) {
      buf_printf(&lease, "%s/lease-r-%d-%s.json", locks.p, (int)getpid(), hex);
      buf_printf(&tmp, "%s/.lease-r-%d-%s.json.tmp", locks.p, (int)getpid(), hex);
      buf_printf(&body, "{\"pid\":%d,\"roots\":[", (int)getpid());
      buf_json(&body, root);
      buf_str(&body, "]}");
      /* No fsync: a lease means something only while its process lives. */
      if (write_new(tmp.p, body.p)) {
        if (rename(tmp.p, lease.p) == 0) result = lease.p, lease.p = NULL;
        else unlink(tmp.p);
      }
    }
    unlink(shared.p);
    free(excl.p);
  }
  free(locks.p), free(shared.p), free(owner.p), free(lease.p), free(tmp.p), free(body.p);
  return result;
}
