/* strata-box is linked statically (Makefile): against musl, whose getpwuid() knows no NSS, or
 * against glibc, whose static getpwuid() would load the host's NSS modules, which must come from
 * the very glibc it was linked with. So: /etc/passwd first, which
 * knows local users, then `getent passwd UID`, glibc's own tool, which asks every NSS source the
 * host configures (LDAP or SSSD users on a cluster). The second costs a fork and exec and is only
 * reached for users that /etc/passwd does not list. */
#include "username.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

extern char **environ;

/* The name on the first line of `text` ("name:x:uid:...") whose uid is `uid`, or NULL. */
static char *name_in_passwd_text(char *text, uid_t uid) {
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[3];
    char *p = line;
    size_t n = 0;
    while (n < 3 && p) {
      f[n++] = p;
      p = strchr(p, ':');
      if (p) *p++ = '\0';
    }
    if (n < 3 || !p || !f[0][0]) continue; /* fields: name, password, uid, then more */
    char *end;
    errno = 0;
    unsigned long v = strtoul(f[2], &end, 10);
    if (errno || end == f[2] || *end || v != (unsigned long)uid) continue;
    return xstrdup(f[0]);
  }
  return NULL;
}

static char *name_from_getent(uid_t uid) {
  static const char *const tools[] = {"/usr/bin/getent", "/bin/getent"};
  const char *tool = NULL;
  for (size_t i = 0; i < sizeof tools / sizeof *tools && !tool; i++)
    if (access(tools[i], X_OK) == 0) tool = tools[i];
  if (!tool) return NULL;
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) return NULL;
  char id[24];
  snprintf(id, sizeof id, "%u", (unsigned)uid);
  char *argv[] = {"getent", "passwd", id, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  pid_t pid;
  int err = posix_spawn(&pid, tool, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  char buf[4096];
  size_t len = 0;
  if (err == 0) {
    ssize_t n;
    while (len < sizeof buf - 1 && ((n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
      if (n > 0) len += (size_t)n;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  close(out[0]);
  buf[len] = '\0';
  return err == 0 ? name_in_passwd_text(buf, uid) : NULL;
}

char *username_of(uid_t uid) {
  autofree char *passwd = read_file_at(AT_FDCWD, "/etc/passwd", 16 << 20);
  char *name = passwd ? name_in_passwd_text(passwd, uid) : NULL;
  return name ? name : name_from_getent(uid);
}
