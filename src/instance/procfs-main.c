/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procfs-main.c: hull-procfs, the FUSE server of a system container's /proc/meminfo, cpuinfo, stat, uptime */
/*
 * hull mounts a "fuse" filesystem on a fresh /dev/fuse fd, starts this program on that fd, and binds
 * its files over the container's /proc files. One thread, one request at a time, libc only and
 * static where the build allows, so that a container costs little memory for it. When the last
 * mount of the filesystem goes (the container's mount namespace ends), read() gives ENODEV and we
 * exit.
 *
 * usage: hull-procfs FD MEMORY_DIR CPUSET_DIR CPUACCT_DIR
 *   FD is the /dev/fuse connection; the directories are the container's cgroups ("-" for none).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

static unsigned char request[PROCFS_REQUEST_MAX];
static unsigned char reply[PROCFS_REPLY_MAX];

static const char *dir_arg(const char *s)
{
        return strcmp(s, "-") == 0 ? NULL : s;
}

/* Writes the messages of buf one by one; a failed write is the kernel's to report (an aborted
 * request, a store for an inode it forgot): go on, but for ENODEV (the filesystem is gone). */
static int send_all(int fd, const unsigned char *buf, size_t len)
{
        size_t off = 0;

        while (len - off >= sizeof(struct fuse_out_header)) {
                struct fuse_out_header h;
                memcpy(&h, buf + off, sizeof(h));
                if (h.len < sizeof(h) || h.len > len - off)
                        return -EINVAL;
                if (write(fd, buf + off, h.len) < 0 && errno == ENODEV)
                        return -ENODEV;
                off += h.len;
        }
        return 0;
}

int main(int argc, char **argv)
{
        ProcfsSources src = { .proc_dir = "/proc" };
        struct timespec ts;
        Procfs *p;
        char *end;
        long fd;

        if (argc != 5) {
                fprintf(stderr, "usage: hull-procfs FD MEMORY_DIR CPUSET_DIR CPUACCT_DIR\n");
                return 2;
        }
        fd = strtol(argv[1], &end, 10);
        if (*end || fd < 0 || fd > 65535) {
                fprintf(stderr, "hull-procfs: bad fd '%s'\n", argv[1]);
                return 2;
        }
        src.memory_dir = dir_arg(argv[2]);
        src.cpuset_dir = dir_arg(argv[3]);
        src.cpuacct_dir = dir_arg(argv[4]);
        clock_gettime(CLOCK_BOOTTIME, &ts);
        src.start = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        p = procfs_new(&src);
        for (;;) {
                ssize_t n = read((int)fd, request, sizeof(request));
                size_t len;
                if (n < 0) {
                        /* ENOENT: the request was interrupted before we took it. */
                        if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
                                continue;
                        break; /* ENODEV: unmounted, the normal end */
                }
                len = procfs_handle(p, request, (size_t)n, reply);
                if (send_all((int)fd, reply, len) == -ENODEV)
                        break;
        }
        procfs_free(p);
        return 0;
}
