/* The container's network namespace, made beside the init rather than by it. Creating a network
 * namespace is by far the slowest of the namespaces (about 0.35 ms here: loopback registration,
 * sysctl tables), and the init has other work first (root, /proc, /dev, masks, host name). So the
 * supervisor clones the init without CLONE_NEWNET, and a helper (a vfork child of the supervisor)
 * joins the init's user namespace, makes the network namespace, brings "lo" up and passes it to
 * the init over the channel. The init joins it just before it mounts /sys (a fresh sysfs shows
 * the network namespace of its mounter) and long before the workload exists. On two cores the two
 * run at once; `make -C native phases && python3 native/tests/phases.py` shows the overlap.
 */
#ifndef STRATA_NETNS_H
#define STRATA_NETNS_H

#include <sys/types.h>

/* Supervisor, right after the clone and before the go message (after which the init is
 * non-dumpable and its /proc files are closed to a rootless caller): an fd of the init's user
 * namespace. The supervisor is dumpable (run.c), so the init is too until then. */
int netns_open_userns(pid_t init);
/* Supervisor, after the go message: runs the helper, which sends MSG_NET_READY (with the
 * namespace's fd) or MSG_NET_FAILED on `chan` to the init, and reaps it. Closes userns. */
void netns_run_helper(int userns, int chan);
/* Init: waits for the helper's message and joins the network namespace, or dies naming what failed. */
void netns_join(int chan);

#endif
