/* User namespace id maps. By default container root is the invoking user alone (a "single-id"
 * mapping, which any user may write). Where /etc/subuid and /etc/subgid give the user a range and
 * the setuid helpers newuidmap/newgidmap exist, ids 1-65535 map through that range as well, as
 * podman and buildah do. Root runs the same way (root has no range here: 0 maps to 0 alone).
 * `run --single-id` skips the range: the engine's build steps use it so that every user's steps
 * see the same ids (engine/build/README.md "Same layers for every user"). */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "username.h"
#include "util.h"

#define WANT_RANGE 65535u

static const char *find_helper(const char *name) {
  static const char *dirs[] = {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    char *p = xasprintf("%s%s", dirs[i], name);
    if (access(p, X_OK) == 0) return p;
    free(p);
  }
  return NULL;
}

/* Looks up "name:start:count" or "uid:start:count" in /etc/subuid or /etc/subgid. */
static bool find_range(const char *file, const char *name, unsigned long id, unsigned long *start,
                       unsigned long *count) {
  autofree char *text = read_file_at(AT_FDCWD, file, 1 << 20);
  if (!text) return false;
  char idbuf[32];
  snprintf(idbuf, sizeof idbuf, "%lu", id);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':');
    if (!c1) continue;
    *c1 = '\0';
    if (!(name && strcmp(line, name) == 0) && strcmp(line, idbuf) != 0) continue;
    char *c2 = strchr(c1 + 1, ':');
    if (!c2) continue;
    *c2 = '\0';
    uint64_t s, c;
    if (!parse_u64(c1 + 1, 1, UINT32_MAX, &s) || !parse_u64(c2 + 1, 1, UINT32_MAX, &c)) continue;
    *start = (unsigned long)s;
    *count = (unsigned long)c;
    return true;
  }
  return false;
}

static bool force_single_id;

void idmap_force_single_id(void) { force_single_id = true; }
bool idmap_single_id_forced(void) { return force_single_id; }

void idmap_choose(struct id_mapping *m) {
  *m = (struct id_mapping){.single = true, .host_uid = getuid(), .host_gid = getgid()};
  if (force_single_id) return;
  /* Most users have no range: no lookup of the name unless /etc/subuid has lines at all. */
  struct stat st;
  if (stat("/etc/subuid", &st) < 0 || st.st_size == 0) return;
  autofree char *name = username_of(m->host_uid);
  unsigned long us, uc, gs, gc;
  if (!find_range("/etc/subuid", name, m->host_uid, &us, &uc)) return;
  if (!find_range("/etc/subgid", name, m->host_uid, &gs, &gc)) return;
  const char *nu = find_helper("newuidmap"), *ng = find_helper("newgidmap");
  bool helpers = nu && ng;
  free((void *)nu);
  free((void *)ng);
  if (!helpers) return;
  m->single = false;
  m->sub_uid_start = (uid_t)us;
  m->sub_gid_start = (gid_t)gs;
  unsigned long count = uc < gc ? uc : gc;
  m->sub_count = (uint32_t)(count < WANT_RANGE ? count : WANT_RANGE);
}

int idmap_uid_mapped(const struct id_mapping *m, uid_t id) {
  return id == 0 || (!m->single && id <= m->sub_count);
}

/* Runs newuidmap/newgidmap PID 0 HOST 1 1 START COUNT and waits for it. */
static void run_helper(const char *name, pid_t pid, unsigned long host, unsigned long start,
                       unsigned long count) {
  autofree char *path = (char *)find_helper(name);
  if (!path) die(EXIT_USERNS, "%s disappeared", name);
  char a_pid[24], a_host[24], a_start[24], a_count[24];
  snprintf(a_pid, sizeof a_pid, "%d", (int)pid);
  snprintf(a_host, sizeof a_host, "%lu", host);
  snprintf(a_start, sizeof a_start, "%lu", start);
  snprintf(a_count, sizeof a_count, "%lu", count);
  char *argv[] = {(char *)name, a_pid, "0", a_host, "1", "1", a_start, a_count, NULL};
  pid_t child = fork();
  if (child < 0) die_errno(EXIT_INTERNAL, "fork for %s", name);
  if (child == 0) {
    execv(path, argv);
    _exit(127);
  }
  int st;
  while (waitpid(child, &st, 0) < 0)
    if (errno != EINTR) die_errno(EXIT_INTERNAL, "waitpid %s", name);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die(EXIT_USERNS,
        "%s %s 0 %s 1 1 %s %s failed (status %d); check the user's lines in /etc/subuid and /etc/subgid",
        path, a_pid, a_host, a_start, a_count, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void write_map(pid_t pid, const char *file, const char *content) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  if (write_file_at(AT_FDCWD, path, content) < 0) die_errno(EXIT_USERNS, "write %s ('%s')", path, content);
}

void idmap_apply(const struct id_mapping *m, pid_t pid) {
  if (!m->single) {
    run_helper("newuidmap", pid, m->host_uid, m->sub_uid_start, m->sub_count);
    run_helper("newgidmap", pid, m->host_gid, m->sub_gid_start, m->sub_count);
    return;
  }
  char map[64];
  /* An unprivileged writer may map only its own gid, and only after giving up setgroups(2). */
  write_map(pid, "setgroups", "deny");
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)m->host_uid);
  write_map(pid, "uid_map", map);
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)m->host_gid);
  write_map(pid, "gid_map", map);
}
