/* See netns.h. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "ns.h"
#include "phase.h"
#include "util.h"

/* What failed in the helper, in the high bits of MSG_NET_FAILED's value (errno in the low 16). */
enum net_step { STEP_JOIN_USERNS = 1, STEP_CREATE, STEP_LOOPBACK, STEP_OPEN };

int netns_open_userns(pid_t init) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)init);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die_errno(EXIT_NAMESPACE, "open the container's user namespace (%s)", path);
  return fd;
}

static __attribute__((noreturn)) void helper_fail(int chan, enum net_step step) {
  int err = errno & 0xffff;
  (void)chan_send(chan, MSG_NET_FAILED, (int)step << 16 | err, -1);
  _exit(0);
}

/* The helper: no output of its own; the init reports a failure (it decides the exit code). */
static __attribute__((noreturn)) void helper_main(int userns_fd, int chan) {
  PHASE("net helper: start");
  if (setns(userns_fd, CLONE_NEWUSER) < 0) helper_fail(chan, STEP_JOIN_USERNS);
  PHASE("net helper: setns");
  if (unshare(CLONE_NEWNET) < 0) helper_fail(chan, STEP_CREATE);
  PHASE("net helper: unshare");
  if (ns_try_loopback_up() < 0) helper_fail(chan, STEP_LOOPBACK);
  PHASE("net helper: lo");
  int net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (net < 0) helper_fail(chan, STEP_OPEN);
  PHASE("net helper: namespace ready");
  (void)chan_send(chan, MSG_NET_READY, 0, net); /* fails only when the init is gone, having reported why */
  _exit(0);
}

/* vfork: the supervisor has nothing to do until the init reports, so it may as well be suspended
 * while the helper runs, and the helper then costs no copy of the supervisor's page tables and
 * starts at once on the supervisor's CPU (about 0.05 ms sooner than after fork). Safe here: the
 * helper changes only its own namespaces and credentials, calls nothing that returns into this
 * frame or touches the supervisor's globals (no die(): its g_on_die would remove the cgroup), and
 * ends in _exit. */
void netns_run_helper(int userns, int chan) {
  pid_t pid = vfork();
  if (pid < 0) die_errno(EXIT_INTERNAL, "start the network namespace helper");
  if (pid == 0) helper_main(userns, chan);
  close(userns);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die_errno(EXIT_INTERNAL, "wait for the network namespace helper");
  /* It reports its own failures to the init; any other end (killed) would leave the init waiting. */
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die(EXIT_NAMESPACE, "the network namespace helper ended with %s %d", WIFEXITED(st) ? "exit code" : "signal",
        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

void netns_join(int chan) {
  struct chan_message m;
  int fd = -1;
  if (chan_recv(chan, &m, &fd) != 1) _exit(EXIT_INTERNAL); /* the supervisor is gone or reported */
  if (m.type == MSG_NET_READY && fd >= 0) {
    if (setns(fd, CLONE_NEWNET) < 0) die_errno(EXIT_NAMESPACE, "join the container's network namespace");
    close(fd);
    return;
  }
  if (fd >= 0) close(fd);
  if (m.type != MSG_NET_FAILED) die(EXIT_INTERNAL, "unexpected message %d instead of the network namespace", m.type);
  errno = m.value & 0xffff;
  switch (m.value >> 16) {
  case STEP_JOIN_USERNS:
    die_errno(EXIT_NAMESPACE, "network namespace helper: join the container's user namespace");
  case STEP_CREATE:
    die_errno(EXIT_NAMESPACE,
              "create the network namespace (check sysctl user.max_net_namespaces, or run with --net host)");
  case STEP_LOOPBACK:
    die_errno(EXIT_NAMESPACE, "loopback: bring lo up");
  default:
    die_errno(EXIT_NAMESPACE, "open the new network namespace");
  }
}
