/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.c: copying a file's data in the kernel where it can, keeping its holes */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "copy.h"

#define COPY_CHUNK (1 << 20)

int stor_copy_range(int in, int out, off_t off, off_t end)
{
        bool can_cfr = true;

        while (off < end) {
                size_t want = (size_t)(end - off) < COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
                ssize_t n;

                if (can_cfr) {
                        loff_t o_in = off, o_out = off;
                        n = copy_file_range(in, &o_in, out, &o_out, want, 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                                can_cfr = false;
                                continue;
                        }
                } else {
                        char buf[65536];
                        n = pread(in, buf, want < sizeof(buf) ? want : sizeof(buf), off);
                        if (n > 0 && pwrite(out, buf, (size_t)n, off) != n)
                                return errno ? -errno : -EIO;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ENODATA; /* the source shrank under us */
                off += n;
        }
        return 0;
}

int stor_for_each_data_segment(int in, off_t size, int (*fn)(void *u, off_t off, off_t end), void *u)
{
        off_t data = 0, hole;
        int r;

        while (data < size) {
                data = lseek(in, data, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        return 0; /* only a hole is left */
                if (data < 0 && errno == EINVAL)
                        return fn(u, 0, size); /* no SEEK_DATA here: everything is data */
                if (data < 0)
                        return -errno;
                hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                if (hole > size)
                        hole = size;
                r = fn(u, data, hole);
                if (r < 0)
                        return r;
                data = hole;
        }
        return 0;
}

static int copy_segment(void *u, off_t off, off_t end)
{
        const int *fds = u;

        return stor_copy_range(fds[0], fds[1], off, end);
}

int stor_copy_sparse(int in, int out, off_t size)
{
        int fds[2] = { in, out };

        return stor_for_each_data_segment(in, size, copy_segment, fds);
}
