/* `strata-box run`: the supervisor. run_main() is the list of steps; supervise() is the loop that
 * stays outside the container: it relays signals and the terminal, enforces the grace period
 * and turns the init's reports into the exit code and the status events. */
#include "run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "channel.h"
#include "idmap.h"
#include "init.h"
#include "mounts.h"
#include "netns.h"
#include "ns.h"
#include "phase.h"
#include "execguard.h"
#include "status.h"
#include "tty.h"
#include "util.h"

static struct cgroup g_cgroup;

static void supervisor_on_die(int code) {
  (void)code;
  tty_restore();
  cgroup_remove(&g_cgroup);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long tv_ms(struct timeval tv) { return tv.tv_sec * 1000L + tv.tv_usec / 1000L; }

struct supervisor {
  const struct run_options *o;
  pid_t init;
  int chan;
  struct tty_relay tty;
  long started_ms, kill_at_ms;
  bool init_done, have_status, started;
  int workload_status, setup_failure, exec_errno;
  int init_status;
  struct rusage ru;
};

static void on_signal(struct supervisor *s, int sig) {
  if (sig == SIGCHLD) {
    int st;
    pid_t p = wait4(s->init, &st, WNOHANG, &s->ru);
    if (p == s->init) {
      s->init_done = true;
      s->init_status = st;
    }
    return;
  }
  if (sig == SIGWINCH && s->o->tty) {
    tty_relay_resize(&s->tty);
    return;
  }
  if (sig == SIGTERM || sig == SIGINT) {
    /* First: ask the workload to stop and start the grace period; second: stop everything now. */
    if (s->kill_at_ms) {
      kill(s->init, SIGKILL);
      return;
    }
    s->kill_at_ms = now_ms() + (long)s->o->grace_ms;
    if (s->o->grace_ms == 0) {
      kill(s->init, SIGKILL);
      return;
    }
  }
  kill(s->init, sig);
}

static void on_message(struct supervisor *s) {
  struct chan_message m;
  int fd;
  int r = chan_recv(s->chan, &m, &fd);
  if (r <= 0) {
    close(s->chan);
    s->chan = -1; /* the init is gone; SIGCHLD follows */
    return;
  }
  switch (m.type) {
  case MSG_STARTED:
    PHASE("supervisor: started received");
    s->started = true;
    status_started(s->init);
    break;
  case MSG_EXEC_FAILED: {
    s->exec_errno = m.value;
    char msg[512];
    snprintf(msg, sizeof msg, "cannot execute '%s': %s", s->o->argv[0], strerror(m.value));
    status_error(m.value == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE, msg); /* stderr has it already */
    break;
  }
  case MSG_EXEC_REFUSED: {
    s->exec_errno = EPERM;
    char msg[512];
    snprintf(msg, sizeof msg,
             "refusing to run '%s': it executed strata-box's own binary, which the container could then overwrite "
             "(CVE-2019-5736)",
             s->o->argv[0]);
    status_error(EXIT_CANNOT_EXECUTE, msg); /* stderr has it already */
    break;
  }
  case MSG_SETUP_FAILED:
    s->setup_failure = m.value;
    break;
  case MSG_EXITED:
    s->have_status = true;
    s->workload_status = m.value;
    break;
  case MSG_TTY:
    if (fd >= 0) tty_relay_start(&s->tty, fd);
    break;
  default:
    break;
  }
}

static void supervise_loop(struct supervisor *s, int sigfd) {
  while (!s->init_done) {
    struct pollfd p[4];
    int n = 0;
    p[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    int chan_i = -1, in_i = -1, master_i = -1;
    /* Once the workload has started (or failed to), the only report left is MSG_EXITED, sent just
     * before the init exits: read it after the init is reaped instead of waking up for it. */
    bool reports_pending = !s->started && !s->exec_errno && !s->setup_failure;
    if (s->chan >= 0 && reports_pending) {
      chan_i = n;
      p[n++] = (struct pollfd){.fd = s->chan, .events = POLLIN};
    }
    if (s->tty.master >= 0) {
      master_i = n;
      p[n++] = (struct pollfd){.fd = s->tty.master, .events = POLLIN};
      if (s->tty.stdin_open) {
        in_i = n;
        p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
      }
    }
    int timeout = -1;
    if (s->kill_at_ms) {
      long left = s->kill_at_ms - now_ms();
      if (left <= 0) {
        kill(s->init, SIGKILL);
        timeout = -1;
      } else {
        timeout = (int)left;
      }
    }
    int r = poll(p, (nfds_t)n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_errno(EXIT_INTERNAL, "poll");
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) on_signal(s, (int)si.ssi_signo);
    }
    if (chan_i >= 0 && p[chan_i].revents) on_message(s);
    if (master_i >= 0 && p[master_i].revents && !tty_relay_pump(&s->tty, false)) {
      /* The slave side is gone for now (EIO); the init's exit ends the loop. */
      close(s->tty.master);
      s->tty.master = -1;
    }
    if (in_i >= 0 && p[in_i].revents && !tty_relay_pump(&s->tty, true)) s->tty.stdin_open = false;
  }
  /* Reports the init sent just before it exited are still in the socket. */
  while (s->chan >= 0) {
    struct pollfd p = {.fd = s->chan, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) break;
    on_message(s);
  }
  tty_relay_finish(&s->tty);
}

static int finish(struct supervisor *s, struct cgroup *cg) {
  struct exit_report rep = {0};
  rep.wall_ms = now_ms() - s->started_ms;
  rep.user_ms = tv_ms(s->ru.ru_utime);
  rep.system_ms = tv_ms(s->ru.ru_stime);
  rep.max_rss_kb = s->ru.ru_maxrss;
  rep.oom_killed = cgroup_oom_killed(cg);
  cgroup_remove(cg);
  if (s->o->upper) mounts_mark_clean_end(s->o);
  if (s->setup_failure) return s->setup_failure; /* already reported as an error event */
  if (s->exec_errno) return s->exec_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
  if (s->have_status) {
    int st = s->workload_status;
    rep.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    rep.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  } else if (WIFSIGNALED(s->init_status)) {
    /* The whole container was killed (grace period over, OOM killer, or a signal from outside). */
    rep.signal = WTERMSIG(s->init_status);
    rep.exit_code = 128 + rep.signal;
  } else {
    /* The init failed before the workload ran: it printed the error and chose the code. */
    return WIFEXITED(s->init_status) ? WEXITSTATUS(s->init_status) : EXIT_INTERNAL;
  }
  status_exited(&rep);
  return rep.exit_code;
}

int run_main(int argc, char **argv) {
  /* argv[0] is strata-box, argv[1] "run". */
  PHASE("supervisor: main");
  struct run_options o;
  run_parse_args(argc - 1, argv + 1, &o);
  struct id_mapping map;
  idmap_choose(&map);
  PHASE("supervisor: options parsed, id mapping chosen");
  bool guard_exec = execguard_choose(argv, &map); /* before any namespace exists */
  PHASE("supervisor: exec guard chosen");
  signal(SIGPIPE, SIG_IGN);
  /* Started from a binary the caller cannot read, the kernel makes us non-dumpable, and with us the
   * init, whose /proc/PID/ns files we then could not open (netns.h). Nothing here is secret. */
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);

  if (!idmap_uid_mapped(&map, o.uid) || !idmap_uid_mapped(&map, (uid_t)o.gid))
    die(EXIT_USERNS, "--uid %u/--gid %u is not mapped in this container (%s); %s", (unsigned)o.uid,
        (unsigned)o.gid, map.single ? "only id 0 is, the invoking user" : "ids 0-65535 are",
        idmap_single_id_forced() ? "run without --single-id to map the user's /etc/subuid range"
                                 : "give the user a range in /etc/subuid and /etc/subgid");
  g_on_die = supervisor_on_die; /* from here on a failure removes what cgroup_prepare made */
  cgroup_prepare(&g_cgroup, &o);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die_errno(EXIT_INTERNAL, "socketpair");
  sigset_t set;
  init_signal_set(&set);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) die_errno(EXIT_INTERNAL, "block signals");
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sigfd < 0) die_errno(EXIT_INTERNAL, "signalfd");
  /* If whoever started us dies without stopping us (a language server killed with SIGKILL), stop the
   * container as on SIGTERM rather than leave it running with nobody to collect it. The signal is
   * blocked, so it arrives through sigfd like any other stop request. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0) die_errno(EXIT_INTERNAL, "set the parent-death signal");
  if (getppid() != parent) kill(getpid(), SIGTERM); /* the parent died before prctl took effect */

  struct supervisor s = {.o = &o, .chan = sv[0], .tty = {.master = -1}, .started_ms = now_ms()};
  PHASE("supervisor: cgroup, channel and signals ready");
  s.init = ns_clone_container();
  if (s.init == 0) {
    g_on_die = NULL; /* the cgroup and the terminal belong to the supervisor */
    close(sv[0]);
    close(sigfd);
    init_main(&o, &map, sv[1], guard_exec);
  }
  PHASE("supervisor: clone returned");
  close(sv[1]);
  int userns = o.net_host ? -1 : netns_open_userns(s.init);
  idmap_apply(&map, s.init);
  PHASE("supervisor: id maps written");
  cgroup_enter(&g_cgroup, s.init);
  if (chan_send(s.chan, MSG_GO, 0, -1) < 0) die_errno(EXIT_INTERNAL, "start the container's init");
  PHASE("supervisor: go sent");
  if (userns >= 0) netns_run_helper(userns, s.chan);
  PHASE("supervisor: net helper forked");
  supervise_loop(&s, sigfd);
  PHASE("supervisor: init reaped");
  int code = finish(&s, &g_cgroup);
  close(sigfd);
  if (s.chan >= 0) close(s.chan);
  run_options_free(&o);
  PHASE("supervisor: exit");
  return code;
}
