/* Capabilities of the workload: Docker's default set, nothing more. They only ever apply inside
 * the container's user namespace; the bounding set keeps a setuid binary in the image from
 * getting more back. */
#include "caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

static const int default_caps[] = {
    CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,      CAP_MKNOD,
    CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,           CAP_SETFCAP,     CAP_SETPCAP,
    CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,     CAP_AUDIT_WRITE,
};

static bool is_default(int cap) {
  for (size_t i = 0; i < sizeof default_caps / sizeof *default_caps; i++)
    if (default_caps[i] == cap) return true;
  return false;
}

static int last_cap(void) {
  autofree char *text = read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32);
  uint64_t n;
  if (text) {
    for (char *p = text; *p; p++)
      if (*p == '\n') *p = '\0';
    if (parse_u64(text, 0, 63, &n)) return (int)n;
  }
  return CAP_LAST_CAP;
}

void caps_limit_to_default(void) {
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if (!is_default(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      die_errno(EXIT_HARDEN, "drop capability %d from the bounding set", cap);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    die_errno(EXIT_HARDEN, "clear ambient capabilities");
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {{0}};
  for (size_t i = 0; i < sizeof default_caps / sizeof *default_caps; i++) {
    int cap = default_caps[i];
    data[cap / 32].effective |= 1u << (cap % 32);
  }
  /* Inheritable stays empty (CVE-2022-24769: moby and runc stopped setting it). */
  for (int i = 0; i < 2; i++) data[i].permitted = data[i].effective;
  if (syscall(SYS_capset, &hdr, data) < 0) die_errno(EXIT_HARDEN, "limit capabilities to the default set");
}
