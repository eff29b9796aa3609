/* The container's file system view, built inside its mount namespace before pivot_root. */
#ifndef STRATA_MOUNTS_H
#define STRATA_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "run.h"

struct mount_state {
  int root_fd;     /* O_PATH: the root of the container's root mount */
  bool single_id;  /* only one id mapped (devpts cannot use gid=5) */
  struct created_path {
    char *path;
    bool is_dir;
  } *created;      /* mount points we had to make in the image, removed again at exit */
  size_t n_created;
};

/* Opens every host path the container needs (rootfs, overlay dirs, bind sources) as O_PATH fds,
 * before anything is mounted: errors name the path, and later mounts cannot redirect them.
 * Called in the init, in the new mount namespace. */
void mounts_open_host_paths(struct run_options *o);

void mounts_make_root(const struct run_options *o, struct mount_state *ms);
/* /proc, /dev and the masked and read-only paths in /proc. */
void mounts_api_filesystems(struct mount_state *ms);
/* /sys (a fresh sysfs, which shows the caller's network namespace: join it first) and its masks. */
void mounts_sys(const struct run_options *o, struct mount_state *ms);
void mounts_user_mounts(const struct run_options *o, struct mount_state *ms);
void mounts_host_network_files(const struct run_options *o, struct mount_state *ms);
void mounts_finish_root(const struct run_options *o, struct mount_state *ms);
void mounts_pivot_root(struct mount_state *ms);
/* In the supervisor, after the container is gone: lets the overlay dirs be mounted again. */
void mounts_mark_clean_end(const struct run_options *o);
/* After the workload: unmounts and deletes the mount points made in the image (run in the init). */
void mounts_remove_created(struct mount_state *ms, bool read_only);

#endif
