/* A no-change `strata build`: print what Node printed for it (the plan's stdout and stderr, in
 * the output mode this invocation has, since the mode is part of the key) with this run's elapsed
 * time in place of the placeholders (ELAPSED_TEXT and ELAPSED_RAW in engine/plan/write.ts). The
 * store and the lock are not touched, as Node does not touch them either. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "front.h"

/* formatMs() in server/src/cli/progress.ts */
static void format_ms(double ms, char out[32]) {
  if (ms < 1000) snprintf(out, 32, "%.0f ms", ms);
  else snprintf(out, 32, "%.1f s", ms / 1000);
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w, n -= (size_t)w;
  }
  return true;
}

static void fill(struct buf *out, const char *text, const char *ms_text, const char *ms_raw) {
  for (const char *p = text; *p;) {
    if (strncmp(p, "\x01ms\x01", 4) == 0) {
      buf_str(out, ms_text);
      p += 4;
    } else if (strncmp(p, "\x01rawms\x01", 7) == 0) {
      buf_str(out, ms_raw);
      p += 7;
    } else {
      buf_add(out, p++, 1);
    }
  }
}

int replay_build(const struct plan *p, const struct timespec *started) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double ms = (double)(now.tv_sec - started->tv_sec) * 1000 + (double)(now.tv_nsec - started->tv_nsec) / 1e6;
  char text[32], raw[32];
  format_ms(ms, text);
  snprintf(raw, sizeof raw, "%.0f", ms);
  struct buf out = {0}, err = {0};
  const char *o = plan_get(p, "stdout"), *e = plan_get(p, "stderr");
  fill(&out, o ? o : "", text, raw);
  fill(&err, e ? e : "", text, raw);
  /* A closed stdout (`strata build | head -0`) is the reader's choice: Node exits 0 then too. */
  signal(SIGPIPE, SIG_IGN);
  if (out.len) write_all(1, out.p, out.len);
  if (err.len) write_all(2, err.p, err.len);
  return 0;
}
