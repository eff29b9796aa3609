/* The supervisor and the container's init talk over one SOCK_SEQPACKET pair: small fixed
 * messages, and the pseudo-terminal's master fd passed with SCM_RIGHTS. The network namespace
 * helper (netns.h) shares the supervisor's end to pass the namespace's fd to the init. */
#ifndef STRATA_CHANNEL_H
#define STRATA_CHANNEL_H

enum chan_msg {
  MSG_GO = 1,      /* supervisor -> init: id maps and cgroup are in place */
  MSG_STARTED,     /* init -> supervisor: the workload's exec succeeded */
  MSG_EXEC_FAILED, /* value: errno of the failed exec */
  MSG_SETUP_FAILED, /* value: strata-box exit code of a failure in the workload before exec */
  MSG_EXITED,      /* value: the workload's wait status */
  MSG_TTY,         /* carries the pty master fd */
  MSG_EXEC_REFUSED, /* the exec led to strata-box's own binary (CVE-2019-5736); it was killed */
  MSG_NET_READY,   /* network helper -> init: carries the network namespace's fd */
  MSG_NET_FAILED,  /* network helper -> init: value: the failed step << 16 | errno (netns.c) */
};

struct chan_message {
  int type;
  int value;
};

/* 0, or -1 with errno. fd < 0: no fd attached. */
int chan_send(int sock, int type, int value, int fd);
/* 1 on a message, 0 on end of stream, -1 with errno (EAGAIN when non-blocking and empty).
 * *fd receives a passed fd or -1 (fd may be NULL when none is expected). */
int chan_recv(int sock, struct chan_message *m, int *fd);

#endif
