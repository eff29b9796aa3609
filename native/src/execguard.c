/* The exec guard: CVE-2019-5736 without copying ourselves.
 *
 * How a container process could reach the strata-box binary: only through a magic link of a
 * process whose executable it is. Those processes are the init (pid 1) and the workload child
 * between fork and exec. Both are non-dumpable with an mm that belongs to the host's user
 * namespace (strata-box was executed there), so no process of the container may open their
 * /proc/PID/exe, map_files or fds (ptrace_may_access needs CAP_SYS_PTRACE over the host). What is
 * left is the workload child's own exec: its /proc/self/exe still names our binary, so a command of
 * `/proc/self/exe`, a script whose interpreter line is `#!/proc/self/exe`, or a binfmt_misc
 * interpreter path that an image turns into a link to it would make the workload *run* strata-box
 * from the host file, dumpable, as a container process; a second process (for instance through a
 * nested container that binds this /proc) could then open its /proc/PID/exe and, once it exits,
 * write the binary.
 *
 * So the init checks that one exec: the child asks to be traced (PTRACE_TRACEME, which needs no
 * privilege over the parent) and the kernel stops it with SIGTRAP right after a successful exec,
 * before the new program's first instruction. The init compares the new executable with its own
 * (device and inode through /proc/PID/exe) and either detaches (the usual case) or kills it. After
 * that exec no magic link in the container leads to the binary any more. Cost: one stop and
 * detach, tens of microseconds, against about 1 ms for runc's and crun's sealed-memfd re-exec
 * (selfexec.c), which stays as the fallback where ptrace is forbidden. runc >= 1.2 also dropped the
 * copy (it executes `runc init` through a private read-only overlay instead), but runc executes
 * itself for every container anyway; strata-box forks and never needs that exec. */
#include "execguard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "selfexec.h"
#include "util.h"

static bool id_mapped(unsigned id, unsigned host, unsigned sub_start, const struct id_mapping *m) {
  return id == host || (!m->single && id >= sub_start && id - sub_start < m->sub_count);
}

/* Could an id of the container open the binary for writing (directly or after a chmod)? */
static bool container_could_write(int fd, const struct stat *st, const struct id_mapping *m) {
  struct statvfs vfs;
  if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return false;
  if (st->st_mode & S_IWOTH) return true;
  if (id_mapped(st->st_uid, m->host_uid, m->sub_uid_start, m)) return true; /* the owner may chmod */
  return id_mapped(st->st_gid, m->host_gid, m->sub_gid_start, m) && (st->st_mode & S_IWGRP);
}

/* Yama's ptrace_scope 3 forbids PTRACE_TRACEME too; then only the sealed copy protects us. */
static bool ptrace_forbidden(void) {
  autofree char *scope = read_file_at(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", 16);
  return scope && scope[0] == '3';
}

bool execguard_choose(char **argv, const struct id_mapping *map) {
  /* A binary without read permission for the caller (mode 0111) runs, but cannot be opened for
   * reading: then an O_PATH fd, enough for the checks, not for a copy. */
  bool readable = true;
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0 && errno == EACCES) {
    readable = false;
    self = open("/proc/self/exe", O_PATH | O_CLOEXEC);
  }
  if (self < 0) die_errno(EXIT_INTERNAL, "open /proc/self/exe (is /proc mounted?)");
  autoclose int self_fd = self;
  struct stat st;
  if (fstat(self, &st) < 0) die_errno(EXIT_INTERNAL, "stat /proc/self/exe");
  if (!container_could_write(self, &st, map)) return false;
  if (readable && selfexec_is_sealed(self)) return false; /* re-executed already: the copy cannot be written */
  const char *mode = getenv("STRATA_BOX_EXEC_GUARD");
  if ((mode && strcmp(mode, "sealed-copy") == 0) || ptrace_forbidden()) {
    if (!readable)
      die(EXIT_HARDEN, "cannot make a sealed copy of strata-box: its binary '%s' is not readable; make it readable "
                       "(chmod a+r) or allow ptrace (Yama ptrace_scope below 3)", argv[0]);
    selfexec_reexec_sealed(self, st.st_size, argv);
  }
  return true;
}

void execguard_arm(void) {
  if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
    die_errno(EXIT_HARDEN,
              "guard the workload's exec (ptrace PTRACE_TRACEME; a seccomp filter or LSM may forbid it: set "
              "STRATA_BOX_EXEC_GUARD=sealed-copy to run from a sealed copy of strata-box instead)");
}

static int wait_for(pid_t pid, int *status) {
  pid_t r;
  do r = waitpid(pid, status, __WALL);
  while (r < 0 && errno == EINTR);
  return r == pid ? 0 : -1;
}

/* Is the executable of the stopped workload the file we run from, writable where it is mounted? */
static bool runs_our_binary(pid_t workload) {
  char path[40];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)workload);
  struct stat self, exe;
  if (stat("/proc/self/exe", &self) < 0) die_errno(EXIT_INTERNAL, "stat the init's own executable");
  if (stat(path, &exe) < 0) {
    /* Not even the init (all capabilities in the container's user namespace) may follow the link:
     * the program is non-dumpable towards the container (an unreadable binary), so no process of
     * the container can open it either. Anything else: refuse rather than guess. */
    return !(errno == EACCES || errno == EPERM);
  }
  if (exe.st_dev != self.st_dev || exe.st_ino != self.st_ino) return false;
  struct statvfs vfs; /* our binary through a read-only mount (a nested --ro-bind) cannot be written */
  return !(statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
}

enum exec_guard_result execguard_check(pid_t workload, int *status) {
  for (;;) {
    if (wait_for(workload, status) < 0) die_errno(EXIT_INTERNAL, "wait for the workload's exec");
    if (!WIFSTOPPED(*status)) return GUARD_ENDED;
    int sig = WSTOPSIG(*status);
    if (sig == SIGTRAP) break;
    /* Another signal reached it first (signals are dequeued lowest first): deliver it and wait for
     * the exec's SIGTRAP, which is still pending. No instruction of the program runs in between.
     * A stop signal is dropped: delivered under ptrace it would only stop and report again. */
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) sig = 0;
    if (ptrace(PTRACE_CONT, workload, NULL, (void *)(long)sig) < 0) die_errno(EXIT_INTERNAL, "resume the workload");
  }
  if (runs_our_binary(workload)) {
    kill(workload, SIGKILL);
    int st;
    (void)wait_for(workload, &st);
    return GUARD_REFUSED;
  }
  /* Detaching with signal 0 drops the exec's SIGTRAP. */
  if (ptrace(PTRACE_DETACH, workload, NULL, NULL) < 0) die_errno(EXIT_INTERNAL, "let the workload run");
  return GUARD_RUNNING;
}
