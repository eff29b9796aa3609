/* `strata-box run`: the options and the steps that make a container, in the order they happen. */
#ifndef STRATA_RUN_H
#define STRATA_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum mount_kind { MOUNT_BIND, MOUNT_RO_BIND, MOUNT_DEV_BIND, MOUNT_TMPFS };

struct mount_request {
  enum mount_kind kind;
  const char *src; /* NULL for tmpfs */
  const char *dest;
  int src_fd; /* O_PATH fd of src, opened before anything is mounted over the host's view */
};

struct run_options {
  const char *rootfs;
  const char **lower; /* top first, as overlayfs lists them */
  size_t n_lower;
  const char *upper, *work;
  struct mount_request *mounts;
  size_t n_mounts;
  const char **env; /* NAME=VALUE, exactly the environment inside */
  size_t n_env;
  const char *cwd;
  const char *hostname;
  uid_t uid;
  gid_t gid;
  bool net_host, read_only, tty, fakeroot;
  uint64_t memory, pids, cpus_milli; /* 0: no limit */
  int status_fd;
  unsigned grace_ms;
  char **argv; /* the workload */
};

/* Parses argv after "run"; exits with EXIT_USAGE and a message on bad input. */
void run_parse_args(int argc, char **argv, struct run_options *o);
void run_options_free(struct run_options *o);
int run_main(int argc, char **argv);

/* Shared between the supervisor (outside) and the container's init (inside). */
struct id_mapping {
  bool single;          /* only the invoking ids are mapped (to 0) */
  uid_t host_uid;       /* the invoking user */
  gid_t host_gid;
  uid_t sub_uid_start;  /* with a subordinate range: where 1.. maps to */
  gid_t sub_gid_start;
  uint32_t sub_count;   /* ids 1..sub_count map to the range */
};

#endif
