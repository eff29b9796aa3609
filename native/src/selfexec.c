/* CVE-2019-5736 (runc): a process in the container opened /proc/PID/exe of the runtime and wrote
 * to the runtime's binary on the host. The fix here is runc's and crun's: before doing anything,
 * copy our own executable into a memfd, seal it against writes and re-execute from it. Every
 * strata-box process of a container then runs from that sealed copy; /proc/PID/exe leads there,
 * never to the file the invoking user may own. (The init is also non-dumpable, so /proc/1/exe
 * cannot even be opened from inside; see init.c.)
 * The copy (about 1 ms: a second exec and dynamic link) is skipped when no id of the container
 * could open the binary for writing in any case: it is owned by an id the container does not map,
 * not writable through a mapped group or by others, or on a read-only mount. That is the usual
 * case for an installed strata-box (root-owned) run by a user; capabilities inside a user
 * namespace never apply to inodes whose owner is not mapped there. */
#include "selfexec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

static bool id_mapped(unsigned id, unsigned host, unsigned sub_start, const struct id_mapping *m) {
  return id == host || (!m->single && id >= sub_start && id - sub_start < m->sub_count);
}

static bool container_could_write(int fd, const struct stat *st, const struct id_mapping *m) {
  struct statvfs vfs;
  if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return false;
  if (st->st_mode & S_IWOTH) return true;
  if (id_mapped(st->st_uid, m->host_uid, m->sub_uid_start, m)) return true; /* the owner may chmod */
  return id_mapped(st->st_gid, m->host_gid, m->sub_gid_start, m) && (st->st_mode & S_IWGRP);
}

void selfexec_ensure_sealed(char **argv, const struct id_mapping *map) {
  if (running_sealed()) return;
  autoclose int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die_errno(EXIT_INTERNAL, "open /proc/self/exe (is /proc mounted?)");
  struct stat st;
  if (fstat(self, &st) < 0) die_errno(EXIT_INTERNAL, "stat /proc/self/exe");
  if (!container_could_write(self, &st, map)) return;

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
