/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process.h: pids, pidfds, start times, waiting */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* The start time of pid in clock ticks since boot (/proc/PID/stat field 22): with the pid, an
 * identity that survives pid reuse. */
int process_start_time(pid_t pid, uint64_t *ret);
/* True if pid exists and, when start_time is non-zero, is still the same process. */
bool process_is_alive(pid_t pid, uint64_t start_time);

int pidfd_open_pid(pid_t pid);
int pidfd_signal(int pidfd, int sig);

/* Waits for pid and returns its exit status in shell form: code, or 128+signal. EINTR is retried. */
int process_wait_status(pid_t pid, int *ret_status, Error **err);

/* The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), or 0 if gone. */
char process_state(pid_t pid);

/* Milliseconds of CLOCK_MONOTONIC, for deadlines. */
int64_t monotonic_ms(void);
/* The deadline timeout_ms from now; -1 (no deadline) for a negative timeout. */
int64_t deadline_ms(int timeout_ms);
/* What is left of a deadline, for poll(): 0 once past, -1 for none. */
int deadline_left_ms(int64_t deadline);

/* A signal by name or number: "TERM", "SIGTERM", "15", "RTMIN+3"; -EINVAL for none. */
int signal_parse(const char *s);

/* A new user namespace, held open by *ret_fd: a child is cloned into it, write_maps(child, data) writes
 * its uid_map and gid_map from outside, the namespace is opened, and the child is killed and reaped.
 * For idmapped mounts, which take a user namespace's fd. */
int userns_open(int (*write_maps)(pid_t pid, void *data, Error **err), void *data, int *ret_fd, Error **err);
