/* `strata-box run` command line: each flag fills one field of struct run_options. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "run.h"
#include "util.h"

#define RUN_USAGE                                                                           \
  "usage: strata-box run [--rootfs DIR | --lower DIR[:DIR...] --upper DIR --work DIR]\n"    \
  "                      [--bind SRC DEST] [--ro-bind SRC DEST] [--dev-bind SRC DEST]\n"    \
  "                      [--tmpfs DEST] [--env NAME=VALUE] [--cwd DIR] [--hostname NAME]\n" \
  "                      [--uid N] [--gid N] [--net none|host] [--read-only] [--tty]\n"     \
  "                      [--fakeroot] [--single-id] [--memory BYTES] [--pids N]\n"        \
  "                      [--cpus N] [--status-fd FD] [--grace-ms MS] -- COMMAND [ARG...]\n"

static const char run_help[] =
    RUN_USAGE
    "\n"
    "Runs COMMAND in new user, mount, pid, ipc, uts, cgroup and net namespaces, as pid 2 under\n"
    "a small init, with the root file system given by --rootfs or by an overlay of --lower dirs\n"
    "(top first) with --upper and --work. Container root is the invoking user (or, with a\n"
    "range in /etc/subuid and /etc/subgid and newuidmap/newgidmap installed, ids 0-65535).\n"
    "\n"
    "  --rootfs DIR         use DIR as the root file system\n"
    "  --lower DIRS         overlay lower dirs, colon-separated, top first (repeatable);\n"
    "                       none with --upper: start from an empty root (FROM scratch)\n"
    "  --upper DIR          overlay upper dir: where the container's writes land\n"
    "  --work DIR           overlay work dir, empty, on the same file system as --upper\n"
    "  --bind SRC DEST      bind SRC at DEST inside (read-write, no devices)\n"
    "  --ro-bind SRC DEST   bind SRC at DEST read-only\n"
    "  --dev-bind SRC DEST  bind SRC at DEST, device nodes usable\n"
    "  --tmpfs DEST         a fresh tmpfs at DEST\n"
    "  --env NAME=VALUE     set a variable; the environment inside is exactly these\n"
    "                       (plus a default PATH when none is given)\n"
    "  --cwd DIR            working directory inside (default /)\n"
    "  --hostname NAME      host name inside (default strata)\n"
    "  --uid N, --gid N     ids of the workload inside (default 0; must be mapped)\n"
    "  --net none|host      none: own network namespace with loopback only (default);\n"
    "                       host: the host's network, resolv.conf and hosts\n"
    "  --read-only          mount the root file system read-only\n"
    "  --tty                give the workload a pseudo-terminal\n"
    "  --fakeroot           with a single mapped id, chown and set*id calls succeed without\n"
    "                       effect (so package managers work)\n"
    "  --single-id          map container root to the invoking user alone even where\n"
    "                       /etc/subuid gives a range (root: 0 to 0, as always), so the\n"
    "                       container sees the same ids whoever starts it\n"
    "  --memory BYTES       memory limit (cgroup); --pids N: process limit;\n"
    "  --cpus N             CPU limit, may be fractional (e.g. 1.5)\n"
    "  --status-fd FD       write JSON-lines events (started, exited, warning, error) to FD\n"
    "  --grace-ms MS        after SIGTERM/SIGINT, kill everything after MS (default 2000)\n"
    "\n"
    "Exit status: the workload's, 128+N when it was killed by signal N, 126/127 when it could\n"
    "not be executed or found, 240-250 when strata-box itself failed (see native/README.md).\n";

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  die(EXIT_USAGE, "run: %s; see 'strata-box run --help'", msg);
}

static const char *need_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) usage_error("%s needs a value", argv[*i]);
  return argv[++*i];
}

static uint64_t need_number(int argc, char **argv, int *i, uint64_t min, uint64_t max) {
  const char *flag = argv[*i];
  const char *v = need_value(argc, argv, i);
  uint64_t n;
  if (!parse_u64(v, min, max, &n))
    usage_error("%s expects a whole number from %llu to %llu, not '%s'", flag, (unsigned long long)min,
                (unsigned long long)max, v);
  return n;
}

/* "1.5" -> 1500 thousandths of a CPU. */
static uint64_t parse_cpus(const char *v) {
  uint64_t whole = 0, frac = 0, scale = 1000;
  const char *p = v;
  if (!*p) usage_error("--cpus expects a number such as 2 or 0.5, not '%s'", v);
  for (; *p && *p != '.'; p++) {
    if (*p < '0' || *p > '9' || whole > 100000) usage_error("--cpus expects a number such as 2 or 0.5, not '%s'", v);
    whole = whole * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    for (p++; *p; p++) {
      if (*p < '0' || *p > '9') usage_error("--cpus expects a number such as 2 or 0.5, not '%s'", v);
      if (scale > 1) {
        scale /= 10;
        frac += (uint64_t)(*p - '0') * scale;
      }
    }
  }
  uint64_t milli = whole * 1000 + frac;
  if (milli < 10) usage_error("--cpus must be at least 0.01, not '%s'", v);
  return milli;
}

static void add_mount(struct run_options *o, enum mount_kind kind, const char *src, const char *dest) {
  if (dest[0] != '/') usage_error("mount destination '%s' must be an absolute path inside the container", dest);
  struct mount_request *m = realloc(o->mounts, (o->n_mounts + 1) * sizeof *m);
  if (!m) die(EXIT_INTERNAL, "out of memory");
  o->mounts = m;
  m[o->n_mounts++] = (struct mount_request){.kind = kind, .src = src, .dest = dest, .src_fd = -1};
}

static void add_lower(struct run_options *o, const char *list) {
  char *copy = xstrdup(list), *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    const char **l = realloc(o->lower, (o->n_lower + 1) * sizeof *l);
    if (!l) die(EXIT_INTERNAL, "out of memory");
    o->lower = l;
    o->lower[o->n_lower++] = xstrdup(dir);
  }
  free(copy);
}

void run_options_free(struct run_options *o) {
  for (size_t i = 0; i < o->n_lower; i++) free((void *)o->lower[i]);
  free(o->lower);
  free(o->mounts);
  free(o->env);
  *o = (struct run_options){.status_fd = -1};
}

static void add_env(struct run_options *o, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) usage_error("--env expects NAME=VALUE, not '%s'", kv);
  const char **e = realloc(o->env, (o->n_env + 2) * sizeof *e);
  if (!e) die(EXIT_INTERNAL, "out of memory");
  o->env = e;
  o->env[o->n_env++] = kv;
  o->env[o->n_env] = NULL;
}

static void check_fd_open(int fd) {
  if (fcntl(fd, F_GETFD) < 0) usage_error("--status-fd %d is not an open file descriptor", fd);
}

void run_parse_args(int argc, char **argv, struct run_options *o) {
  *o = (struct run_options){.status_fd = -1, .grace_ms = 2000, .hostname = "strata"};
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(run_help, stdout);
      exit(0);
    } else if (strcmp(a, "--rootfs") == 0) o->rootfs = need_value(argc, argv, &i);
    else if (strcmp(a, "--lower") == 0) add_lower(o, need_value(argc, argv, &i));
    else if (strcmp(a, "--upper") == 0) o->upper = need_value(argc, argv, &i);
    else if (strcmp(a, "--work") == 0) o->work = need_value(argc, argv, &i);
    else if (strcmp(a, "--bind") == 0 || strcmp(a, "--ro-bind") == 0 || strcmp(a, "--dev-bind") == 0) {
      enum mount_kind k = a[2] == 'r' ? MOUNT_RO_BIND : a[2] == 'd' ? MOUNT_DEV_BIND : MOUNT_BIND;
      const char *src = need_value(argc, argv, &i);
      add_mount(o, k, src, need_value(argc, argv, &i));
    } else if (strcmp(a, "--tmpfs") == 0) add_mount(o, MOUNT_TMPFS, NULL, need_value(argc, argv, &i));
    else if (strcmp(a, "--env") == 0) add_env(o, need_value(argc, argv, &i));
    else if (strcmp(a, "--cwd") == 0) o->cwd = need_value(argc, argv, &i);
    else if (strcmp(a, "--hostname") == 0) o->hostname = need_value(argc, argv, &i);
    else if (strcmp(a, "--uid") == 0) o->uid = (uid_t)need_number(argc, argv, &i, 0, 4294967294u);
    else if (strcmp(a, "--gid") == 0) o->gid = (gid_t)need_number(argc, argv, &i, 0, 4294967294u);
    else if (strcmp(a, "--net") == 0) {
      const char *v = need_value(argc, argv, &i);
      if (strcmp(v, "host") == 0) o->net_host = true;
      else if (strcmp(v, "none") == 0) o->net_host = false;
      else usage_error("--net expects 'none' or 'host', not '%s'", v);
    } else if (strcmp(a, "--read-only") == 0) o->read_only = true;
    else if (strcmp(a, "--tty") == 0) o->tty = true;
    else if (strcmp(a, "--fakeroot") == 0) o->fakeroot = true;
    else if (strcmp(a, "--single-id") == 0) idmap_force_single_id();
    else if (strcmp(a, "--memory") == 0) o->memory = need_number(argc, argv, &i, 1 << 20, UINT64_MAX / 2);
    else if (strcmp(a, "--pids") == 0) o->pids = need_number(argc, argv, &i, 1, 4194304);
    else if (strcmp(a, "--cpus") == 0) o->cpus_milli = parse_cpus(need_value(argc, argv, &i));
    else if (strcmp(a, "--status-fd") == 0) {
      o->status_fd = (int)need_number(argc, argv, &i, 3, 1 << 20);
      check_fd_open(o->status_fd);
      g_status_fd = o->status_fd;
    } else if (strcmp(a, "--grace-ms") == 0) o->grace_ms = (unsigned)need_number(argc, argv, &i, 0, 3600000);
    else usage_error("unknown option '%s'", a);
  }
  if (i >= argc) usage_error("no command given after '--'");
  o->argv = argv + i;

  bool overlay = o->n_lower || o->upper || o->work;
  if (o->rootfs && overlay) usage_error("--rootfs and --lower/--upper/--work exclude each other");
  if (!o->rootfs && !overlay) usage_error("give the root file system with --rootfs DIR or --lower/--upper/--work");
  if (overlay && !o->n_lower && !o->upper) usage_error("an overlay needs --lower dirs, or --upper and --work");
  if ((o->upper == NULL) != (o->work == NULL)) usage_error("--upper and --work go together");
  if (o->cwd && o->cwd[0] != '/') usage_error("--cwd '%s' must be an absolute path inside the container", o->cwd);
  if (strlen(o->hostname) == 0 || strlen(o->hostname) > 64) usage_error("--hostname must be 1 to 64 characters");
}
