/* strata-front: the native front end of the `strata` command (bin/strata execs it). It replays a
 * plan that the Node engine left after a cached `strata build` or `strata run`
 * (server/src/engine/plan/README.md) when every input it rests on is unchanged, and otherwise
 * execs `node out/cli.js` with the same argv. Nothing here may fail in a way that Node would not:
 * anything unexpected before the workload starts means "fall back to Node". */
#ifndef STRATA_FRONT_H
#define STRATA_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Must equal PLAN_FORMAT in server/src/engine/plan/key.ts. */
#define PLAN_FORMAT "strata-plan-1"
/* Must equal RACY_MARGIN_NS in server/src/engine/plan/snapshot.ts. */
#define RACY_MARGIN_NS 50000000ULL

/* A growable byte buffer, always NUL-terminated. */
struct buf {
  char *p;
  size_t len, cap;
};
void buf_add(struct buf *b, const void *data, size_t n);
void buf_str(struct buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void buf_printf(struct buf *b, const char *fmt, ...);
/* s as a JSON string, escaped as JSON.stringify does. */
void buf_json(struct buf *b, const char *s);

/* The command line as bin/strata passed it: strata-front ROOT ARGS... */
struct invocation {
  char *root;  /* real path of the install (holding out/cli.js) */
  int argc;    /* the CLI's own arguments (argv[2..]) */
  char **argv;
  bool trace;  /* STRATA_TRACE=1: say on stderr which path ran */
};

__attribute__((noreturn)) void fall_back(const struct invocation *inv, const char *why);
__attribute__((format(printf, 2, 3))) void trace(const struct invocation *inv, const char *fmt, ...);

/* key.c: the store and the plan file of this invocation (NULL: cannot tell; fall back). */
char *strata_home(void);
char *plan_path(const struct invocation *inv, const char *home);

/* plan.c: a parsed plan, records in file order. */
struct record {
  const char *tag;
  char *value; /* NUL-terminated; len bytes */
  size_t len;
};
struct plan {
  char *data;
  struct record *recs;
  size_t n;
  uint64_t created_ns;
};
bool plan_load(const char *file, struct plan *p);
const char *plan_get(const struct plan *p, const char *tag);

/* check.c: every stat, absence and presence the plan lists; false with a reason. */
bool plan_inputs_unchanged(const struct plan *p, const char **why);
bool plan_objects_present(const struct plan *p, const char **why);

/* build.c and run.c: replay a plan; they return the exit code. */
int replay_build(const struct plan *p, const struct timespec *started);
int replay_run(const struct invocation *inv, const struct plan *p);

/* lease.c: keep the image's trees from gc while the container runs (store/lock.ts protocol). */
char *lease_take(const char *home, const char *root); /* the lease file, or NULL */

/* record.c: host facts and the run record. */
struct run_outcome {
  int code;
  int signal;
  bool oom_killed;
  bool have_rusage;
  long user_ms, system_ms, max_rss_kb;
  const char *interrupted; /* "SIGINT" when Ctrl-C stopped the run */
};
void format_iso(const struct timespec *t, char out[96]);
bool write_run_record(const char *home, const char *id, const struct plan *p,
                      const struct timespec *started, const struct timespec *ended,
                      const struct run_outcome *o);

/* sha256.c */
struct sha256 {
  uint32_t h[8];
  uint64_t total;
  unsigned char block[64];
  size_t used;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_hex(struct sha256 *s, char out[65]);

/* util.c */
void random_hex(char *out, size_t nhex); /* nhex hex digits, NUL-terminated */
bool read_file(const char *file, size_t limit, char **out, size_t *len);
void remove_tree(const char *dir);

#endif
