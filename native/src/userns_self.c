/* apply and scan inside the container's user namespace (see userns_self.h). Without it a rootless
 * apply cannot give files the owners a layer names, and a rootless scan cannot read files the
 * container gave to ids of the subordinate range. podman and buildah do the same ("podman unshare"). */
#include "userns_self.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "records.h"

void enter_container_userns(const char *cmd) {
  struct id_mapping m;
  idmap_choose(&m);
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
    rec_fail(EXIT_REC_SYSTEM, "pipe for the user namespace: %s", strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) rec_fail(EXIT_REC_SYSTEM, "fork for the user namespace: %s", strerror(errno));
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    /* Dies with the parent, so a cancelled caller leaves nothing behind. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(EXIT_REC_SYSTEM);
    if (unshare(CLONE_NEWUSER) < 0) {
      fprintf(stderr, "strata-box %s: cannot create a user namespace: %s\n", cmd, strerror(errno));
      _exit(EXIT_REC_SYSTEM);
    }
    char c = 'u';
    if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(EXIT_REC_SYSTEM);
    close(ready[1]);
    close(go[0]);
    return;
  }
  close(ready[1]);
  close(go[0]);
  char c;
  if (read(ready[0], &c, 1) != 1) {
    int st;
    waitpid(pid, &st, 0);
    exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_REC_SYSTEM);
  }
  idmap_apply(&m, pid); /* dies with a message naming newuidmap or the map file */
  if (write(go[1], &c, 1) != 1) rec_fail(EXIT_REC_SYSTEM, "starting the user namespace: %s", strerror(errno));
  /* Only the child speaks on stdin/stdout; the parent lets go of them and waits. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    close(null);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) rec_fail(EXIT_REC_SYSTEM, "waitpid: %s", strerror(errno));
  exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
