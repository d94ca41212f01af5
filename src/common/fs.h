/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs.h: file helpers and the safe path walk that keeps a lookup inside a root directory */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include "error.h"

/* Writes all of buf to fd, through short writes and EINTR: 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Reads all of fd into a NUL-terminated buffer; *ret_len (optional) excludes the NUL. */
int fd_read_all(int fd, char **ret, size_t *ret_len, Error **err);
int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, Error **err);
/* Writes data to an existing file (no O_CREAT, no truncation beyond O_TRUNC): cgroup and proc knobs. */
int write_file_at(int dirfd, const char *path, const char *data, Error **err);
/* Writes a whole file through a temporary name and rename(2), so readers see old or new. */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode, Error **err);
/* Opens path (made, mode 0600, when missing) and takes an exclusive flock(2) on it, waiting for
 * it; returns the fd, whose closing releases the lock. */
int lock_file(const char *path, Error **err);
int mkdir_p(const char *path, mode_t mode, Error **err);
/* Removes a directory tree below dirfd/name; a missing one is not an error. */
int rm_rf_at(int dirfd, const char *name, Error **err);

/* "/proc/self/fd/N" for fd, in buf (at least FD_PATH_MAX bytes). */
#define FD_PATH_MAX 32
const char *fd_path(int fd, char buf[static FD_PATH_MAX]);

/*
 * Opens path relative to root_fd with every component, symlinks included, resolved as if root_fd
 * were "/" (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). extra_resolve adds RESOLVE_* flags
 * (RESOLVE_NO_SYMLINKS for proc and sysfs targets). Returns the fd or -errno.
 */
int open_in_root(int root_fd, const char *path, int flags, mode_t mode, unsigned long long extra_resolve);

/*
 * Makes sure path exists below root_fd, creating missing directories (mode 0755) and, when is_file,
 * the last component as an empty file; returns an O_PATH fd to it, resolved as in open_in_root().
 */
int mkpath_in_root(int root_fd, const char *path, bool is_file, Error **err);

/* True if the two fds name the same inode. */
bool fd_same_inode(int a, int b);

/* Closes every fd >= from except those in keep (any order, negatives ignored). */
int close_fds_except(int from, const int *keep, size_t n_keep);

/* The first executable name in the directories of $PATH and then of extra_dirs (colon-separated; may
 * be NULL), malloc'd; NULL when there is none. */
char *path_find(const char *name, const char *extra_dirs);

/* Connects a SOCK_STREAM socket to the unix socket path, retrying while it is missing or refuses (a
 * server still starting) for up to timeout_ms (-1: no limit); ETIMEDOUT then. Returns the fd. */
int unix_connect_wait(const char *path, int timeout_ms, Error **err);
