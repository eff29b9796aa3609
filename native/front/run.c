/* A `strata run` whose build is cached: what runEnvironment() in server/src/engine/run/run.ts
 * does after its build, in the same order. Lease the image, make the scratch dir, run
 * `strata-box run` with the planned argv and a status pipe on fd 3, forward Ctrl-C and SIGTERM as
 * Node does (SIGTERM to strata-box, which stops the workload within its grace period; SIGKILL
 * after 4 s or on a second signal), release the lease, remove the scratch dir, write the record,
 * and exit with the workload's code. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "front.h"

static volatile sig_atomic_t g_box = 0;
static volatile sig_atomic_t g_interrupted = 0; /* the first signal that asked us to stop */

static void on_stop(int sig) {
  if (!g_interrupted) {
    g_interrupted = sig;
    if (g_box > 0) kill((pid_t)g_box, SIGTERM);
    alarm(4); /* Node's backstop: the grace period (2 s) plus 2 s */
  } else if (g_box > 0) {
    kill((pid_t)g_box, SIGKILL);
  }
}

static void on_alarm(int sig) {
  (void)sig;
  if (g_box > 0) kill((pid_t)g_box, SIGKILL);
}

/* `strata-box`'s own failures, with what a user can do (FAILURE_HINTS in engine/sandbox/run.ts). */
static const char *failure_hint(int code) {
  switch (code) {
    case 240: return "strata-box was called with bad arguments; this is a bug in Strata";
    case 241: return "check the user's lines in /etc/subuid and /etc/subgid and that newuidmap/newgidmap (package uidmap) are installed";
    case 242: return "unprivileged user namespaces must be enabled (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 where present, no AppArmor userns restriction)";
    case 243: return "overlayfs in a user namespace needs Linux 5.11 or newer, and the upper and work dirs on one file system with user xattrs";
    case 244: return "check that every bind source exists and every mount destination is an absolute path in the image";
    case 245: return "the cgroup refused a limit; check the --memory/--pids/--cpus values";
    case 246: return "the kernel refused a hardening step (seccomp, capabilities, no_new_privs)";
    case 247: return "the image is unusable as a root: its /proc, /dev or /sys is a symlink, or the working directory or user is wrong";
    case 248: return "an internal step of strata-box failed; this may be a bug or the machine is out of resources";
    case 249: return "a pseudo-terminal could not be set up; run without a TTY";
    default: return NULL;
  }
}

/* Node's name for a signal (sigabbrev_np is glibc's alone). */
static const char *signal_name(int sig) {
  static const char *const names[] = {
      [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",   [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
      [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
      [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
      [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGXCPU] = "SIGXCPU",
      [SIGXFSZ] = "SIGXFSZ", [SIGSYS] = "SIGSYS",
  };
  return sig > 0 && (size_t)sig < sizeof names / sizeof *names && names[sig] ? names[sig] : "an unknown signal";
}

/* The number after "KEY": in one status line (the events are flat objects strata-box writes). */
static bool json_number(const char *line, const char *key, long *out) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *p = strstr(line, pattern);
  if (!p) return false;
  *out = strtol(p + strlen(pattern), NULL, 10);
  return true;
}

/* The string after "message": with JSON escapes undone (ASCII \u escapes; others kept as is). */
static char *json_message(const char *line) {
  const char *p = strstr(line, "\"message\":\"");
  struct buf b = {0};
  buf_add(&b, "", 0);
  if (!p) return b.p;
  for (p += 11; *p && *p != '"'; p++) {
    if (*p != '\\' || !p[1]) {
      buf_add(&b, p, 1);
      continue;
    }
    char c = *++p;
    if (c == 'n') buf_str(&b, "\n");
    else if (c == 't') buf_str(&b, "\t");
    else if (c == 'r') buf_str(&b, "\r");
    else if (c == 'u' && strlen(p) >= 5) {
      char hex[5] = {p[1], p[2], p[3], p[4], 0};
      char ch = (char)strtol(hex, NULL, 16);
      buf_add(&b, &ch, 1);
      p += 4;
    } else buf_add(&b, &c, 1);
  }
  return b.p;
}

struct events {
  bool exited, error;
  long exit_code, signal, oom, user_ms, system_ms, max_rss_kb, error_code;
  char *error_message;
};

static void on_event(const char *line, struct events *ev) {
  if (strstr(line, "\"event\":\"exited\"")) {
    ev->exited = true;
    json_number(line, "exit_code", &ev->exit_code);
    json_number(line, "signal", &ev->signal);
    ev->oom = strstr(line, "\"oom_killed\":true") != NULL;
    json_number(line, "user_ms", &ev->user_ms);
    json_number(line, "system_ms", &ev->system_ms);
    json_number(line, "max_rss_kb", &ev->max_rss_kb);
  } else if (strstr(line, "\"event\":\"error\"")) {
    ev->error = true;
    json_number(line, "exit_code", &ev->error_code);
    free(ev->error_message);
    ev->error_message = json_message(line);
  } else if (strstr(line, "\"event\":\"warning\"")) {
    char *m = json_message(line);
    fprintf(stderr, "strata: warning: %s\n", m);
    free(m);
  }
}

/* Reads the status pipe to its end (strata-box and everything it started have exited then). */
static void read_events(int fd, struct events *ev) {
  struct buf pending = {0};
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf_add(&pending, chunk, (size_t)n);
    char *nl;
    while (pending.p && (nl = memchr(pending.p, '\n', pending.len))) {
      *nl = 0;
      on_event(pending.p, ev);
      size_t rest = pending.len - (size_t)(nl + 1 - pending.p);
      memmove(pending.p, nl + 1, rest);
      pending.len = rest;
      pending.p[rest] = 0;
    }
  }
  if (pending.len) on_event(pending.p, ev);
  free(pending.p);
}

static char **box_argv(const struct plan *p, const char *upper, const char *work) {
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++) n += strcmp(p->recs[i].tag, "arg") == 0;
  char **argv = calloc(n + 1, sizeof *argv);
  if (!argv) abort();
  n = 0;
  for (size_t i = 0; i < p->n; i++) {
    if (strcmp(p->recs[i].tag, "arg") != 0) continue;
    const char *a = p->recs[i].value;
    argv[n++] = strcmp(a, "\x01upper\x01") == 0 ? (char *)upper
                : strcmp(a, "\x01work\x01") == 0 ? (char *)work
                                                : (char *)a;
  }
  return argv;
}

/* Starts strata-box with fd 3 the write end of `status`; -1 when it cannot be started. */
static pid_t start_box(char **argv, int status_w) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (status_w == 3) {
    fcntl(3, F_SETFD, 0);
  } else if (dup2(status_w, 3) < 0) {
    _exit(125);
  }
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGALRM, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execv(argv[0], argv);
  fprintf(stderr, "strata: cannot start strata-box: %s\n", strerror(errno));
  _exit(125);
}

static void iso_id(char out[96]) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char hex[7];
  random_hex(hex, 6);
  snprintf(out, 96, "%04d%02d%02d-%02d%02d%02d-%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, hex);
}

int replay_run(const struct invocation *inv, const struct plan *p) {
  const char *home = plan_get(p, "home"), *root = plan_get(p, "lease");
  if (!home || !root || !plan_get(p, "arg") || !plan_get(p, "record") || !plan_get(p, "specdir"))
    fall_back(inv, "incomplete plan");
  char *lease = lease_take(home, root);
  if (!lease) fall_back(inv, "the store is locked or its lease could not be written");
  const char *why;
  if (!plan_objects_present(p, &why)) {
    unlink(lease);
    fall_back(inv, why);
  }
  char id[96], dirhex[13];
  iso_id(id);
  random_hex(dirhex, 12);
  struct buf dir = {0}, upper = {0}, work = {0};
  /* run-<pid>-<hex>, as the engine's tempName(): gc removes it as soon as this process is gone */
  buf_printf(&dir, "%s/tmp/run-%d-%s", home, (int)getpid(), dirhex);
  buf_printf(&upper, "%s/upper", dir.p);
  buf_printf(&work, "%s/work", dir.p);
  if (mkdir(dir.p, 0777) != 0 || mkdir(upper.p, 0777) != 0 || mkdir(work.p, 0777) != 0) {
    remove_tree(dir.p);
    unlink(lease);
    fall_back(inv, "cannot make the run's scratch dir");
  }
  trace(inv, "cached plan run %s", id);

  struct sigaction stop = {.sa_handler = on_stop}, alrm = {.sa_handler = on_alarm};
  sigemptyset(&stop.sa_mask);
  sigaction(SIGINT, &stop, NULL);
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGALRM, &alrm, NULL);
  int status[2];
  if (pipe2(status, O_CLOEXEC) != 0) {
    unlink(lease);
    remove_tree(dir.p);
    fall_back(inv, "cannot make the status pipe");
  }
  char **argv = box_argv(p, upper.p, work.p);
  struct timespec started, ended;
  clock_gettime(CLOCK_REALTIME, &started);
  pid_t box = start_box(argv, status[1]);
  close(status[1]);
  struct events ev = {0};
  int wstatus = 0;
  if (box > 0) {
    g_box = box;
    if (g_interrupted) kill(box, SIGTERM);
    read_events(status[0], &ev);
    while (waitpid(box, &wstatus, 0) < 0 && errno == EINTR) {
    }
    g_box = 0;
  }
  close(status[0]);
  alarm(0);
  unlink(lease);
  remove_tree(dir.p);
  clock_gettime(CLOCK_REALTIME, &ended);

  struct run_outcome o = {0};
  if (g_interrupted) {
    o.code = 130;
    o.interrupted = g_interrupted == SIGTERM ? "SIGTERM" : "SIGINT";
  } else if (ev.exited) {
    o = (struct run_outcome){.code = (int)ev.exit_code, .signal = (int)ev.signal, .oom_killed = ev.oom,
                             .have_rusage = true, .user_ms = ev.user_ms, .system_ms = ev.system_ms,
                             .max_rss_kb = ev.max_rss_kb};
  } else if (ev.error && (ev.error_code == 126 || ev.error_code == 127)) {
    o = (struct run_outcome){.code = (int)ev.error_code, .have_rusage = true};
  } else if (ev.error) {
    const char *hint = failure_hint((int)ev.error_code);
    fprintf(stderr, "strata: strata-box: %s%s%s\n", ev.error_message, hint ? "\n  hint: " : "", hint ? hint : "");
    return 125;
  } else {
    if (box > 0 && WIFSIGNALED(wstatus))
      fprintf(stderr, "strata: strata-box was killed by %s without reporting a result\n",
              signal_name(WTERMSIG(wstatus)));
    else
      fprintf(stderr, "strata: strata-box exited with code %d without reporting a result\n",
              box > 0 ? WEXITSTATUS(wstatus) : -1);
    fprintf(stderr, "  hint: this is a bug in strata-box or the machine ran out of memory\n");
    return 125;
  }
  if (!write_run_record(home, id, p, &started, &ended, &o)) {
    fprintf(stderr, "strata: cannot write the run record in %s/runs: %s\n", home, strerror(errno));
    return 125;
  }
  if (o.interrupted) {
    fprintf(stderr, "strata: the run was cancelled; the container was stopped\n");
  }
  return o.code;
}
