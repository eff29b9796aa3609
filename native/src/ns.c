/* Namespace creation. clone(2) is called without a new stack, like fork(2), so the child simply
 * continues (and sanitizers see an ordinary fork-like child). The cgroup namespace is made later,
 * by the init, once the supervisor has moved it into its cgroup (see init.c); the network
 * namespace by a helper at the same time as the init's mounts (netns.h). */
#include "ns.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

pid_t ns_clone_container(void) {
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    if (errno == EPERM || errno == ENOSPC)
      die_errno(EXIT_NAMESPACE,
                "create namespaces (user namespaces may be disabled: check sysctl user.max_user_namespaces "
                "and kernel.unprivileged_userns_clone, or an AppArmor userns restriction)");
    die_errno(EXIT_NAMESPACE, "create namespaces");
  }
  return pid;
}

void ns_set_hostname(const char *name) {
  if (sethostname(name, strlen(name)) < 0) die_errno(EXIT_NAMESPACE, "set host name '%s'", name);
}

int ns_try_loopback_up(void) {
  autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  return ioctl(s, SIOCSIFFLAGS, &ifr);
}
