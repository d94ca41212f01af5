/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tty.h: pseudo-terminals for container processes, fd passing, and the foreground relay */
#pragma once

#include "common/error.h"

/* Sends fd over a connected unix socket with SCM_RIGHTS, with a short payload (may be NULL). */
int rt_send_fd(int sock, int fd, const void *data, size_t len, Error **err);
/* Receives one fd (or -EBADF if none came) and up to len bytes of payload into data; returns bytes read. */
ssize_t rt_recv_fd(int sock, int *ret_fd, void *data, size_t len, Error **err);

/* Connects a SOCK_STREAM socket to path (a path longer than sun_path is reached through its directory's fd). */
int rt_unix_connect(const char *path, int *ret_fd, Error **err);

/*
 * In the container: opens a new pty from /dev/ptmx (the container's devpts), makes its slave the
 * controlling terminal and stdin/stdout/stderr of the calling process (which must be a session
 * leader or able to become one), sizes it, and returns the master.
 */
int rt_tty_setup_slave(unsigned rows, unsigned cols, bool is_console_bind, int *ret_master, Error **err);

struct termios;
/* Puts the terminal fd in raw mode (saving the old mode in *saved) and gives master (if >= 0) its size. */
int rt_tty_raw(int fd, int master, struct termios *saved);
