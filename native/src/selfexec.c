/* CVE-2019-5736 (runc): a process in the container opened /proc/PID/exe of the runtime and wrote
 * to the runtime's binary on the host. This file is runc's and crun's original fix: copy our own
 * executable into a memfd, seal it against writes and re-execute from it, so /proc/PID/exe of
 * every strata-box process leads to that copy. It costs a second exec and dynamic link (about
 * 1 ms a run), so strata-box uses it only where the cheaper exec guard (execguard.c) cannot run:
 * where ptrace is forbidden (Yama ptrace_scope 3), or when asked (STRATA_BOX_EXEC_GUARD=sealed-copy). */
#include "selfexec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int selfexec_is_sealed(int self_fd) {
  int seals = fcntl(self_fd, F_GET_SEALS);
  return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

void selfexec_reexec_sealed(int self_fd, off_t size, char **argv) {
  /* MFD_EXEC keeps kernels with vm.memfd_noexec=1 from making the copy non-executable. */
  autoclose int mem = memfd_create("strata-box", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mem < 0 && errno == EINVAL) mem = memfd_create("strata-box", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0) die_errno(EXIT_INTERNAL, "memfd_create for the sealed copy of strata-box");
  off_t left = size;
  while (left > 0) {
    ssize_t n = sendfile(mem, self_fd, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die_errno(EXIT_INTERNAL, "copy strata-box into a memfd");
    left -= n;
  }
  if (fcntl(mem, F_ADD_SEALS, REQUIRED_SEALS) < 0) die_errno(EXIT_INTERNAL, "seal the memfd copy of strata-box");
  fexecve(mem, argv, environ);
  die_errno(EXIT_INTERNAL,
            "re-execute strata-box from a sealed memfd (vm.memfd_noexec=2 forbids it; set it to 0 or 1)");
}
