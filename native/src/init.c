/* pid 1 of the container. Steps, in order: wait for the supervisor's go (id maps written, cgroup
 * joined); become non-dumpable; cgroup namespace; mounts; host name; join the network namespace a
 * helper made meanwhile (netns.h); /sys; binds; pivot_root; close
 * every fd it does not need; start the workload; forward signals and reap until the workload
 * ends; remove the mount points it made in the image; report; exit with the workload's code,
 * which makes the kernel kill whatever else is left in the pid namespace. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "channel.h"
#include "execguard.h"
#include "inroot.h"
#include "libc_compat.h"
#include "mounts.h"
#include "netns.h"
#include "phase.h"
#include "ns.h"
#include "seccomp.h"
#include "tty.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

void init_signal_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(set, forwarded[i]);
  sigaddset(set, SIGCHLD);
}

/* CVE-2024-21626 class: no fd of the host may reach the container. */
static void close_fds_except(const int *keep, size_t n) {
  int lo = 3;
  for (;;) {
    int next = -1;
    for (size_t i = 0; i < n; i++)
      if (keep[i] >= lo && (next < 0 || keep[i] < next)) next = keep[i];
    unsigned hi = next < 0 ? ~0U : (unsigned)next - 1;
    if ((unsigned)lo <= hi && close_range((unsigned)lo, hi, 0) < 0) die_errno(EXIT_HARDEN, "close inherited fds");
    if (next < 0) return;
    lo = next + 1;
  }
}

static char **workload_env(const struct run_options *o) {
  bool has_path = false;
  for (size_t i = 0; i < o->n_env; i++)
    if (strncmp(o->env[i], "PATH=", 5) == 0) has_path = true;
  char **env = xcalloc(o->n_env + 2, sizeof *env);
  size_t n = 0;
  for (size_t i = 0; i < o->n_env; i++) env[n++] = (char *)o->env[i];
  if (!has_path) env[n++] = DEFAULT_PATH;
  env[n] = NULL;
  return env;
}

/* The working directory, resolved inside the root; a missing one is made, as Docker does. */
static void enter_cwd(const struct run_options *o, int root_fd) {
  const char *cwd = o->cwd ? o->cwd : "/";
  autoclose int fd = inroot_open(root_fd, cwd, O_PATH | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT) fd = inroot_mkpath(root_fd, cwd, false, NULL, NULL);
  if (fd < 0) die_errno(EXIT_IMAGE, "working directory '%s'", cwd);
  if (fchdir(fd) < 0) die_errno(EXIT_IMAGE, "chdir to '%s'", cwd);
  /* A cwd that is not below the root shows as "(unreachable)/..." or fails: refuse it. */
  char buf[4096];
  if (!getcwd(buf, sizeof buf) || buf[0] != '/') die(EXIT_IMAGE, "working directory '%s' is outside the root", cwd);
}

static void set_ids(const struct run_options *o, const struct id_mapping *map) {
  /* Supplementary groups of the invoking user would show as "nogroup"; drop them where allowed
   * (setgroups is denied with a single-id mapping, where there are none to drop). */
  if (!map->single && setgroups(0, NULL) < 0) die_errno(EXIT_HARDEN, "drop supplementary groups");
  if (setresgid(o->gid, o->gid, o->gid) < 0) die_errno(EXIT_IMAGE, "switch to gid %u", (unsigned)o->gid);
  if (setresuid(o->uid, o->uid, o->uid) < 0) die_errno(EXIT_IMAGE, "switch to uid %u", (unsigned)o->uid);
}

static int exec_pipe_fd = -1;

/* A failure between fork and exec reaches the init as the negated exit code. */
static void report_setup_failure(int code) {
  int v = -code;
  (void)write_all(exec_pipe_fd, &v, sizeof v);
}

/* The workload child: everything here happens after fork and before exec. */
static __attribute__((noreturn)) void exec_workload(const struct run_options *o, const struct id_mapping *map,
                                                    int root_fd, const char *slave, int exec_pipe, bool guard_exec) {
  PHASE("workload: forked");
  exec_pipe_fd = exec_pipe;
  g_on_die = report_setup_failure;
  /* Default dispositions and an empty mask, as a freshly started program expects: strata-box
   * ignores SIGPIPE and blocks the forwarded signals, and both would survive exec. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (setsid() < 0) die_errno(EXIT_INTERNAL, "setsid");
  if (slave[0]) tty_become_controlling(slave);
  enter_cwd(o, root_fd);
  caps_limit_to_default();
  set_ids(o, map);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die_errno(EXIT_HARDEN, "set no_new_privs");
  if (o->fakeroot && map->single) seccomp_install_fakeroot();
  /* Everything but 0, 1, 2 closes at exec, including the exec-status pipe (which is how the
   * init learns that exec succeeded) and the status fd. */
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) die_errno(EXIT_HARDEN, "mark fds close-on-exec");
  environ = workload_env(o);
  PHASE("workload: exec");
  if (guard_exec) execguard_arm();
  execvp(o->argv[0], o->argv);
  int err = errno;
  (void)write_all(exec_pipe, &err, sizeof err);
  fprintf(stderr, "strata-box: cannot execute '%s': %s\n", o->argv[0], strerror(err));
  _exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
}

/* The workload child shares the init's memory until its exec (vfork): no page tables to copy and
 * no copy-on-write faults afterwards (about 0.1 ms a run), and the init waits for the exec anyway.
 * What makes that safe here: the init is single-threaded and suspended until the child executes
 * or exits; the child has its own fd table, signal handlers and credentials (no CLONE_FILES or
 * CLONE_SIGHAND), never returns from this frame (exec_workload does not return, and every failure
 * ends in _exit), and the globals it changes (environ, g_on_die, exec_pipe_fd) are put back here.
 * What it allocates stays behind in the init's heap: a few hundred bytes, once. */
static pid_t start_workload(const struct run_options *o, const struct id_mapping *map, int root_fd, const char *slave,
                            const int exec_pipe[2], int chan, bool guard_exec) {
  char **init_environ = environ;
  pid_t pid = vfork();
  if (pid == 0) {
    close(exec_pipe[0]);
    close(chan);
    exec_workload(o, map, root_fd, slave, exec_pipe[1], guard_exec);
  }
  environ = init_environ;
  g_on_die = NULL;
  exec_pipe_fd = -1;
  if (pid < 0) die_errno(EXIT_INTERNAL, "fork the workload");
  return pid;
}

static int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return EXIT_INTERNAL;
}

/* Forwards signals to the workload and reaps every child until the workload itself is reaped. */
static int supervise_workload(pid_t workload) {
  sigset_t set;
  init_signal_set(&set);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      die_errno(EXIT_INTERNAL, "init: sigwaitinfo");
    }
    if (sig != SIGCHLD) {
      kill(workload, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      /* Only a traced workload reports stops: its exec failed before the guard detached it, and a
       * signal stopped it on its way out. Let the signal through. */
      if (WIFSTOPPED(status)) {
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(status));
        continue;
      }
      if (pid == workload) return status;
    }
  }
}

void init_main(struct run_options *o, const struct id_mapping *map, int chan, bool guard_exec) {
  /* If the supervisor dies, so does the container (and with pid 1, the whole namespace). */
  PHASE("init: start");
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  struct chan_message m;
  if (chan_recv(chan, &m, NULL) != 1 || m.type != MSG_GO) _exit(EXIT_INTERNAL); /* supervisor reported */
  /* Non-dumpable: the files of /proc/1 then belong to the host's root and cannot be opened from inside,
   * /proc/1/exe included (CVE-2019-5736; the workload child inherits it until its exec, which
   * execguard.c checks). */
  PHASE("init: go received");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (unshare(CLONE_NEWCGROUP) < 0) die_errno(EXIT_NAMESPACE, "create the cgroup namespace");

  /* Opened here, in our mount namespace (a bind source must be a mount of the caller's
   * namespace), and before the first mount, so nothing mounted later changes what they name. */
  mounts_open_host_paths(o);
  struct mount_state ms = {.root_fd = -1, .single_id = map->single};
  mounts_make_root(o, &ms);
  PHASE("init: root mounted");
  mounts_api_filesystems(&ms);
  ns_set_hostname(o->hostname);
  PHASE("init: /proc, /dev, masks mounted, host name set");
  /* The helper has been making the network namespace meanwhile (netns.h). */
  if (!o->net_host) netns_join(chan);
  PHASE("init: network namespace joined");
  mounts_sys(o, &ms);
  PHASE("init: /sys mounted");
  mounts_user_mounts(o, &ms);
  mounts_host_network_files(o, &ms);
  mounts_finish_root(o, &ms);
  PHASE("init: binds done");
  mounts_pivot_root(&ms);
  PHASE("init: pivot_root done");

  char slave[64] = "";
  if (o->tty) {
    int master = tty_open_master(slave);
    if (chan_send(chan, MSG_TTY, 0, master) < 0) die_errno(EXIT_INTERNAL, "pass the terminal to the supervisor");
    close(master);
  }
  int keep[] = {chan, ms.root_fd, g_status_fd};
  close_fds_except(keep, sizeof keep / sizeof *keep);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) < 0) die_errno(EXIT_INTERNAL, "pipe");
  PHASE("init: fork workload");
  pid_t workload = start_workload(o, map, ms.root_fd, slave, exec_pipe, chan, guard_exec);
  close(exec_pipe[1]);
  int status = 0;
  bool reaped = false;
  enum exec_guard_result g = GUARD_RUNNING;
  if (guard_exec) {
    /* The exec's stop (or the child's end) comes first: waiting for it rather than for the pipe's
     * EOF saves one wake-up of the init, which on a busy machine is a wait for a CPU. */
    g = execguard_check(workload, &status);
    reaped = g == GUARD_ENDED;
    PHASE("init: exec guard done");
  }
  /* The exec-status pipe: EOF when the exec succeeded (it is close-on-exec), else the errno of the
   * failed exec or the negated exit code of a failure before it. Read only once the workload has
   * exec'd or ended, so this never waits when guarded. */
  int err = 0;
  ssize_t n = 0;
  if (g != GUARD_REFUSED) {
    do n = read(exec_pipe[0], &err, sizeof err);
    while (n < 0 && errno == EINTR);
  }
  close(exec_pipe[0]);
  if (g == GUARD_REFUSED) {
    fprintf(stderr,
            "strata-box: refusing to run '%s': it executed strata-box's own binary, which the container could "
            "then overwrite through /proc/PID/exe (CVE-2019-5736)\n",
            o->argv[0]);
    chan_send(chan, MSG_EXEC_REFUSED, 0, -1);
    mounts_remove_created(&ms, o->read_only);
    _exit(EXIT_CANNOT_EXECUTE);
  }
  if (n != (ssize_t)sizeof err) {
    PHASE("init: exec confirmed");
    chan_send(chan, MSG_STARTED, 0, -1);
  } else if (err < 0) {
    chan_send(chan, MSG_SETUP_FAILED, -err, -1);
  } else {
    chan_send(chan, MSG_EXEC_FAILED, err, -1);
  }

  if (!reaped) status = supervise_workload(workload);
  PHASE("init: workload reaped");
  mounts_remove_created(&ms, o->read_only);
  chan_send(chan, MSG_EXITED, status, -1);
  PHASE("init: exit");
  _exit(exit_code_of(status));
}
