/* cgroup limits for --memory, --pids and --cpus. The container gets its own cgroup below the
 * invoking process's, named strata-box-PID, created before the init starts and removed after
 * everything in it has exited. The init unshares the cgroup namespace after entering it, so the
 * container sees its cgroup as its root. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Our path in the hierarchy whose /proc/self/cgroup line has `controller` in its list
 * ("" selects the v2 line "0::/path"). */
static char *own_cgroup_path(const char *controller) {
  autofree char *text = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16);
  if (!text) return NULL;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *list = c1 + 1;
    bool match;
    if (!*controller) match = *list == '\0';
    else {
      match = false;
      size_t n = strlen(controller);
      for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, controller, n) == 0) match = true;
        if (!comma) break;
        p = comma + 1;
      }
    }
    if (match) return xstrdup(c2 + 1);
  }
  return NULL;
}

/* The mount point of the v1 hierarchy with `controller`, or of cgroup2 when controller is "". */
static char *hierarchy_mount(const char *controller) {
  if (!*controller) {
    struct statfs sf;
    if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) return xstrdup("/sys/fs/cgroup");
    if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
      return xstrdup("/sys/fs/cgroup/unified");
    return NULL;
  }
  char *p = xasprintf("/sys/fs/cgroup/%s", controller);
  struct statfs sf;
  if (statfs(p, &sf) == 0 && sf.f_type != CGROUP2_SUPER_MAGIC) return p;
  free(p);
  return NULL;
}

static int cg_write(const char *dir, const char *file, const char *value) {
  autofree char *path = xasprintf("%s/%s", dir, file);
  return write_file_at(AT_FDCWD, path, value);
}

static void set_limit(const char *dir, const char *file, const char *value) {
  if (cg_write(dir, file, value) < 0) die_errno(EXIT_CGROUP, "set %s/%s to %s", dir, file, value);
}

static void add_dir(struct cgroup *cg, char *dir) { cg->dirs[cg->n_dirs++] = dir; }

/* Makes base/strata-box-PID; NULL (errno set) when base is not writable for us. */
static char *make_child(const char *mount, const char *own) {
  char *dir = xasprintf("%s%s/strata-box-%d", mount, strcmp(own, "/") == 0 ? "" : own, (int)getpid());
  if (mkdir(dir, 0755) == 0) return dir;
  int err = errno;
  free(dir);
  errno = err;
  return NULL;
}

static bool has_controllers(const char *dir, const char *file, const struct run_options *o) {
  autofree char *path = xasprintf("%s/%s", dir, file);
  autofree char *text = read_file_at(AT_FDCWD, path, 4096);
  if (!text) return false;
  char padded[4200];
  snprintf(padded, sizeof padded, " %s ", text);
  for (char *p = padded; *p; p++)
    if (*p == '\n') *p = ' ';
  return (!o->memory || strstr(padded, " memory ")) && (!o->pids || strstr(padded, " pids ")) &&
         (!o->cpus_milli || strstr(padded, " cpu "));
}

static bool try_v2(struct cgroup *cg, const struct run_options *o) {
  autofree char *mount = hierarchy_mount("");
  autofree char *own = own_cgroup_path("");
  if (!mount || !own) return false;
  autofree char *base = xasprintf("%s%s", mount, strcmp(own, "/") == 0 ? "" : own);
  /* Delegated (systemd user@ or a container manager) when the controllers reach our children. */
  if (!has_controllers(base, "cgroup.subtree_control", o)) {
    if (!has_controllers(base, "cgroup.controllers", o)) return false;
    char enable[64] = "";
    if (o->memory) strcat(enable, "+memory ");
    if (o->pids) strcat(enable, "+pids ");
    if (o->cpus_milli) strcat(enable, "+cpu ");
    if (cg_write(base, "cgroup.subtree_control", enable) < 0) return false;
  }
  char *dir = make_child(mount, own);
  if (!dir) return false;
  cg->version = 2;
  add_dir(cg, dir);
  cg->memory_dir = dir;
  char v[64];
  if (o->memory) {
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->memory);
    set_limit(dir, "memory.max", v);
    (void)cg_write(dir, "memory.swap.max", "0"); /* absent without swap accounting */
  }
  if (o->pids) {
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->pids);
    set_limit(dir, "pids.max", v);
  }
  if (o->cpus_milli) {
    snprintf(v, sizeof v, "%llu 100000", (unsigned long long)o->cpus_milli * 100);
    set_limit(dir, "cpu.max", v);
  }
  return true;
}

static char *v1_child(const char *controller) {
  autofree char *mount = hierarchy_mount(controller);
  autofree char *own = own_cgroup_path(controller);
  if (!mount || !own) return NULL;
  return make_child(mount, own);
}

static bool try_v1(struct cgroup *cg, const struct run_options *o) {
  char v[64];
  if (o->memory) {
    char *dir = v1_child("memory");
    if (!dir) return false;
    add_dir(cg, dir);
    cg->memory_dir = dir;
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->memory);
    set_limit(dir, "memory.limit_in_bytes", v);
    /* Without swap accounting the file is missing; with it, no swapping past the limit. */
    (void)cg_write(dir, "memory.memsw.limit_in_bytes", v);
  }
  if (o->pids) {
    char *dir = v1_child("pids");
    if (!dir) return false;
    add_dir(cg, dir);
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->pids);
    set_limit(dir, "pids.max", v);
  }
  if (o->cpus_milli) {
    char *dir = v1_child("cpu");
    if (!dir) return false;
    add_dir(cg, dir);
    set_limit(dir, "cpu.cfs_period_us", "100000");
    snprintf(v, sizeof v, "%llu", (unsigned long long)o->cpus_milli * 100);
    set_limit(dir, "cpu.cfs_quota_us", v);
  }
  cg->version = 1;
  return true;
}

void cgroup_prepare(struct cgroup *cg, const struct run_options *o) {
  *cg = (struct cgroup){0};
  if (!o->memory && !o->pids && !o->cpus_milli) return;
  if (try_v2(cg, o)) return;
  cgroup_remove(cg);
  if (try_v1(cg, o)) return;
  cgroup_remove(cg);
  warn_msg("no writable cgroup (v2 delegated or v1) for this user; --memory, --pids and --cpus are not "
           "enforced (ask for a delegated cgroup, e.g. run under 'systemd-run --user --scope -p Delegate=yes')");
}

void cgroup_enter(const struct cgroup *cg, pid_t pid) {
  char v[24];
  snprintf(v, sizeof v, "%d", (int)pid);
  for (size_t i = 0; i < cg->n_dirs; i++)
    if (cg_write(cg->dirs[i], "cgroup.procs", v) < 0) die_errno(EXIT_CGROUP, "move the container into %s", cg->dirs[i]);
}

bool cgroup_oom_killed(const struct cgroup *cg) {
  if (!cg->memory_dir) return false;
  autofree char *path = xasprintf("%s/%s", cg->memory_dir, cg->version == 2 ? "memory.events" : "memory.oom_control");
  autofree char *text = read_file_at(AT_FDCWD, path, 4096);
  if (!text) return false;
  const char *p = strstr(text, "oom_kill ");
  return p && strtoul(p + strlen("oom_kill "), NULL, 10) > 0;
}

void cgroup_remove(struct cgroup *cg) {
  for (size_t i = 0; i < cg->n_dirs; i++) {
    /* The last tasks of the container may still be leaving the cgroup for a moment. */
    for (int tries = 0; rmdir(cg->dirs[i]) < 0 && errno == EBUSY && tries < 100; tries++)
      nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    free(cg->dirs[i]);
  }
  cg->n_dirs = 0;
  cg->memory_dir = NULL;
  cg->version = 0;
}
