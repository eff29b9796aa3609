/* The JSON-lines events of --status-fd (documented in native/README.md). */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void emit(char *line, size_t len) {
  if (g_status_fd < 0) return;
  /* A reader that went away must not kill the sandbox: SIGPIPE is ignored by the supervisor. */
  (void)write_all(g_status_fd, line, len);
}

void status_started(pid_t pid) {
  char line[96];
  int n = snprintf(line, sizeof line, "{\"event\":\"started\",\"pid\":%d}\n", (int)pid);
  emit(line, (size_t)n);
}

void status_exited(const struct exit_report *r) {
  char line[384];
  int n = snprintf(line, sizeof line,
                   "{\"event\":\"exited\",\"exit_code\":%d,\"signal\":%d,\"oom_killed\":%s,"
                   "\"wall_ms\":%ld,\"user_ms\":%ld,\"system_ms\":%ld,\"max_rss_kb\":%ld}\n",
                   r->exit_code, r->signal, r->oom_killed ? "true" : "false", r->wall_ms, r->user_ms,
                   r->system_ms, r->max_rss_kb);
  emit(line, (size_t)n);
}

static void message_event(const char *prefix, const char *message) {
  if (g_status_fd < 0) return;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  json_append_string(&buf, &len, &cap, message);
  char *line = xasprintf("%s\"message\":%s}\n", prefix, buf);
  emit(line, strlen(line));
  free(line);
  free(buf);
}

void status_warning(const char *message) { message_event("{\"event\":\"warning\",", message); }

void status_error(int code, const char *message) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "{\"event\":\"error\",\"exit_code\":%d,", code);
  message_event(prefix, message);
}
