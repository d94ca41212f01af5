/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procfs.h: /proc files that show a container's limits, and the FUSE requests that serve them (libc only) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * This code runs in hull-procfs, a static libc-only helper, and is linked into the instance library
 * only for its tests: it uses no hull library (no Error chain); failures are -errno.
 */

/* Where the figures come from. Any directory may be NULL; a file missing in one counts as absent. */
typedef struct ProcfsSources {
        const char *proc_dir;    /* the host's procfs ("/proc"): meminfo, cpuinfo, stat */
        const char *memory_dir;  /* the container's memory cgroup (v1 memory.limit_in_bytes, v2 memory.max) */
        const char *cpuset_dir;  /* its cpuset cgroup (v1 cpuset.effective_cpus, v2 cpuset.cpus.effective) */
        const char *cpuacct_dir; /* where its CPU time is kept (v1 cpuacct.usage, v2 cpu.stat usage_usec) */
        double start;            /* CLOCK_BOOTTIME seconds at which the container started */
} ProcfsSources;

typedef enum ProcfsFile {
        PROCFS_MEMINFO, /* MemTotal = the limit when below the host's, MemFree, MemAvailable, caches, swap */
        PROCFS_CPUINFO, /* the host's blocks for the CPUs of the cpuset, renumbered from 0 */
        PROCFS_STAT,    /* the host's, with only the cpuset's cpuN lines (renumbered) and their sum as "cpu" */
        PROCFS_UPTIME,  /* since start; idle: the CPUs' time not used by the container */
        _PROCFS_FILE_MAX,
} ProcfsFile;

/* The file's name ("meminfo"), NULL out of range. */
const char *procfs_file_name(ProcfsFile f);

/*
 * Makes the content of file f as the container sees it at now (CLOCK_BOOTTIME seconds), from src.
 * Without a memory limit (or one not below the host's) meminfo is the host's; without a cpuset,
 * every CPU counts. *ret gets a malloc'd, NUL-terminated text of *ret_len bytes. -ENOENT when the
 * host's file cannot be read, -EINVAL for f out of range.
 */
int procfs_generate(const ProcfsSources *src, ProcfsFile f, double now, char **ret, size_t *ret_len);

/*
 * Parses a CPU list ("0-3,8,10-11", trailing newline allowed) into mask (n_bits bits, cleared first).
 * -EINVAL for bad syntax or a CPU >= n_bits. Returns the number of CPUs set.
 */
int procfs_parse_cpu_list(const char *s, unsigned char *mask, size_t n_bits);

/* One filesystem connection's state: its open files. */
typedef struct Procfs Procfs;

/* A server for src (copied by pointer: it must outlive the server). */
Procfs *procfs_new(const ProcfsSources *src);
Procfs *procfs_free(Procfs *p);

/* Size of the reply buffer procfs_handle() wants, and the read buffer requests fit in. */
#define PROCFS_REPLY_MAX (32u << 10)
#define PROCFS_REQUEST_MAX (12u << 10)

/*
 * Handles one request read from /dev/fuse (req, n bytes: untrusted, every length checked). Writes
 * what to send into out (PROCFS_REPLY_MAX bytes) and returns its length: one or more messages back
 * to back, each starting with a fuse_out_header whose len is its size, each to be written to
 * /dev/fuse alone (an OPEN's reply comes after a FUSE_NOTIFY_STORE, see procfs.c). 0 when the
 * request takes no reply (FORGET, BATCH_FORGET, INTERRUPT) or is too malformed to answer (shorter
 * than its header).
 * Supports INIT, LOOKUP, GETATTR, OPEN, READ, RELEASE, OPENDIR, READDIR, RELEASEDIR, STATFS; the
 * rest get ENOSYS. Files are read-only, 0444, size 0, served with FOPEN_DIRECT_IO: the content is
 * made at OPEN and kept for the handle, so a read in pieces is consistent.
 */
size_t procfs_handle(Procfs *p, const void *req, size_t n, void *out);
