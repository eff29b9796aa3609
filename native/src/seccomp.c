/* The --fakeroot filter, Charliecloud's approach (ch-run --seccomp): in a container where only
 * one id is mapped, package managers chown files to ids that do not exist and switch to
 * sandbox users; the kernel refuses both. Here those calls return 0 and change nothing, which is
 * what a single-id container can honour anyway: every file belongs to the one mapped id. */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "util.h"

#define X32_SYSCALL_BIT 0x40000000u

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "add this architecture's AUDIT_ARCH to seccomp.c"
#endif

static const unsigned native_calls[] = {
#ifdef __NR_chown
    __NR_chown,
#endif
#ifdef __NR_lchown
    __NR_lchown,
#endif
    __NR_fchown,    __NR_fchownat,  __NR_setuid,    __NR_setgid,    __NR_setreuid, __NR_setregid,
    __NR_setgroups, __NR_setresuid, __NR_setresgid, __NR_setfsuid,  __NR_setfsgid,
};

#if defined(__x86_64__)
/* 32-bit programs on x86-64 (numbers from arch/x86/entry/syscalls/syscall_32.tbl). */
static const unsigned i386_calls[] = {
    182 /* chown */,     16 /* lchown */,      95 /* fchown */,      212 /* chown32 */,
    198 /* lchown32 */, 207 /* fchown32 */,   298 /* fchownat */,   23 /* setuid */,
    213 /* setuid32 */, 46 /* setgid */,      214 /* setgid32 */,   70 /* setreuid */,
    203 /* setreuid32 */, 71 /* setregid */,  204 /* setregid32 */, 81 /* setgroups */,
    206 /* setgroups32 */, 164 /* setresuid */, 208 /* setresuid32 */, 170 /* setresgid */,
    210 /* setresgid32 */, 138 /* setfsuid */, 215 /* setfsuid32 */, 139 /* setfsgid */,
    216 /* setfsgid32 */,
};
#endif

#define MAX_INSNS 128

static void add(struct sock_filter *f, size_t *n, struct sock_filter insn) {
  if (*n >= MAX_INSNS) die(EXIT_INTERNAL, "seccomp filter too long");
  f[(*n)++] = insn;
}

/* "if nr is one of calls: return 0 (faked)", falling through to allow otherwise. */
static void add_list(struct sock_filter *f, size_t *n, const unsigned *calls, size_t count) {
  for (size_t i = 0; i < count; i++)
    add(f, n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, calls[i], (unsigned char)(count - i), 0));
  add(f, n, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  add(f, n, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0));
}

void seccomp_install_fakeroot(void) {
  struct sock_filter f[MAX_INSNS];
  size_t n = 0;
  size_t native_count = sizeof native_calls / sizeof *native_calls;
  add(&f[0], &n, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
#if defined(__x86_64__)
  /* jump over the native block (load, mask, list) to the i386 check when not native */
  add(f, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, (unsigned char)(native_count + 4)));
  add(f, &n, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  add(f, &n, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_SYSCALL_BIT));
  add_list(f, &n, native_calls, native_count);
  size_t i386_count = sizeof i386_calls / sizeof *i386_calls;
  add(f, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, (unsigned char)(i386_count + 3)));
  add(f, &n, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  add_list(f, &n, i386_calls, i386_count);
#else
  add(f, &n, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, (unsigned char)(native_count + 3)));
  add(f, &n, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  add_list(f, &n, native_calls, native_count);
#endif
  add(f, &n, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) die_errno(EXIT_HARDEN, "install the --fakeroot seccomp filter");
}
