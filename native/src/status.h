/* --status-fd: one JSON object per line, written with a single write(2) so lines from the
 * supervisor and the container's init never interleave (both are far below PIPE_BUF). */
#ifndef STRATA_STATUS_H
#define STRATA_STATUS_H

#include <stdbool.h>
#include <sys/types.h>

struct exit_report {
  int exit_code;   /* what strata-box exits with: the workload's code, or 128+N */
  int signal;      /* the signal that killed the workload, or 0 */
  bool oom_killed; /* the cgroup's OOM killer fired */
  long wall_ms, user_ms, system_ms, max_rss_kb;
};

void status_started(pid_t pid);
void status_exited(const struct exit_report *r);
void status_warning(const char *message);
void status_error(int code, const char *message);

#endif
