/* CVE-2019-5736 (runc): a process in the container opened /proc/PID/exe of the runtime and wrote
 * to the runtime's binary on the host. The fix here is runc's and crun's: before doing anything,
 * copy our own executable into a memfd, seal it against writes and re-execute from it. Every
 * strata-box process of a container then runs from that sealed copy; /proc/PID/exe leads there,
 * never to the file the invoking user may own. (The init is also non-dumpable, so /proc/1/exe
 * cannot even be opened from inside; see init.c.) */
#include "selfexec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool running_sealed(void) {
  autoclose int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

void selfexec_ensure_sealed(char **argv) {
  if (running_sealed()) return;
  autoclose int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die_errno(EXIT_INTERNAL, "open /proc/self/exe (is /proc mounted?)");
  struct stat st;
  if (fstat(self, &st) < 0) die_errno(EXIT_INTERNAL, "stat /proc/self/exe");

  /* MFD_EXEC keeps kernels with vm.memfd_noexec=1 from making the copy non-executable. */
  autoclose int mem = memfd_create("strata-box", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mem < 0 && errno == EINVAL) mem = memfd_create("strata-box", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0) die_errno(EXIT_INTERNAL, "memfd_create for the sealed copy of strata-box");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mem, self, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die_errno(EXIT_INTERNAL, "copy strata-box into a memfd");
    left -= n;
  }
  if (fcntl(mem, F_ADD_SEALS, REQUIRED_SEALS) < 0) die_errno(EXIT_INTERNAL, "seal the memfd copy of strata-box");
  fexecve(mem, argv, environ);
  die_errno(EXIT_INTERNAL,
            "re-execute strata-box from a sealed memfd (vm.memfd_noexec=2 forbids it; set it to 0 or 1)");
}
