/* The kernel's floor for the benchmark's work (bench/native.bench.ts): the least a runtime must do
 * to run /bin/true with the same namespaces, done the plain, serial way: clone with user, mount,
 * pid, net, ipc, uts and cgroup namespaces, a single-id map, a private bind of the root, a fresh
 * /proc, pivot_root and detach the old root, exec, wait. No /dev, no masks, no hardening, no pid-1
 * init. strata-box does all of those and still can come close to it, or below it by the network
 * namespace it makes beside the init (src/netns.h) rather than in the clone.
 * Link it as strata-box is (static musl where musl-gcc exists), or glibc's start-up, 0.7 ms on a
 * VM, sits in the floor:
 *   musl-gcc -static -O2 -o ns-floor native/tests/ns-floor.c && ./ns-floor ROOTFS /bin/true */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *what) {
  perror(what);
  _exit(125);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail(path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ns-floor ROOTFS COMMAND [ARG...]\n");
    return 125;
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) fail("pipe");
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                        CLONE_NEWCGROUP | SIGCHLD;
  uid_t uid = getuid();
  gid_t gid = getgid();
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0) fail("clone");
  if (pid == 0) {
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 0) fail("wait for the id maps");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make / private");
    if (mount(argv[1], argv[1], NULL, MS_BIND | MS_REC, NULL) < 0) fail("bind the root");
    if (chdir(argv[1]) < 0) fail("chdir");
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail("mount proc");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) fail("detach the old root");
    if (chdir("/") < 0) fail("chdir /");
    execv(argv[2], argv + 2);
    fail("exec");
  }
  close(go[0]);
  char path[64], map[64];
  snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
  write_file(path, "deny");
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
  write_file(path, map);
  close(go[1]);
  int st;
  if (waitpid(pid, &st, 0) < 0) fail("waitpid");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
