/* --tty: a pseudo-terminal from the container's own devpts, its master relayed by the supervisor. */
#ifndef STRATA_TTY_H
#define STRATA_TTY_H

#include <stdbool.h>

/* In the init, after pivot_root: opens a new pty; returns the master, fills slave_path. */
int tty_open_master(char slave_path[64]);
/* In the workload: new session with the slave as controlling terminal and stdin/out/err. */
void tty_become_controlling(const char *slave_path);

/* Supervisor side. */
struct tty_relay {
  int master;         /* -1 until the init sends it */
  bool stdin_open;    /* still reading our stdin */
  bool raw;           /* our stdin is a terminal we put in raw mode */
};
void tty_relay_start(struct tty_relay *r, int master);
/* Copies our terminal's window size to the pty (on start and on SIGWINCH). */
void tty_relay_resize(struct tty_relay *r);
/* Moves available bytes: stdin -> master (from_stdin) or master -> stdout. false when that side ended. */
bool tty_relay_pump(struct tty_relay *r, bool from_stdin);
/* Copies what the workload wrote before it ended, then restores our terminal. */
void tty_relay_finish(struct tty_relay *r);
/* Restores the terminal mode (also used when dying). */
void tty_restore(void);

#endif
