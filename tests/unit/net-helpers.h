/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* net-helpers.h: what the net suites share: network namespaces entered by threads, the host's links */
#pragma once

#include <stddef.h>

/*
 * For main(), after its root check and before the tests: opens the host's network namespace (the
 * caller's, for net_test_leave_netns()), checks that a new one can be made, and records the host's
 * links for net_test_host_unchanged(). Returns 0, or 77 (the skip status) after saying why on stderr,
 * with nothing kept. net_test_fini() undoes a success.
 */
int net_test_init(void);
/* Closes and frees what net_test_init() kept; harmless when it kept nothing. */
void net_test_fini(void);

/* Moves the calling thread into a new network namespace of its own (only "lo", down): 0 or -errno. */
int net_test_enter_new_netns(void);
/* Moves the calling thread back into the host's network namespace: 0 or -errno. */
int net_test_leave_netns(void);

/*
 * Runs fn(arg) in a thread of its own that first enters the network namespace ns_fd, or a new one when
 * ns_fd < 0: only that thread changes namespace, and it ends. Blocks until it has. Returns what fn
 * returned, or -errno when the thread could not be made or could not enter the namespace.
 */
int net_test_in_netns(int ns_fd, int (*fn)(void *arg), void *arg);
/* An fd of a new network namespace (only "lo", down), which lives while the fd is open; or -errno. */
int net_test_new_netns(void);
/*
 * A socket of type (SOCK_STREAM or SOCK_DGRAM, AF_INET) made inside the network namespace ns_fd: a
 * socket stays in the namespace it was made in. port > 0: bound to it on every address, and listening
 * if TCP. Returns the fd (the caller closes it) or -errno (-EBADF for a negative ns_fd).
 */
int net_test_socket_in(int ns_fd, int type, int port);

/* Fails the running test unless the host's links are those net_test_init() recorded. */
void net_test_assert_host_unchanged(void);
/* net_test_assert_host_unchanged() as a cmocka test: the last of a suite. */
void net_test_host_unchanged(void **state);

/* Sorts n timing samples in ascending order, so that a median or a percentile can be read. */
void net_test_sort_times(long *v, size_t n);
