/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-procfs.c: libFuzzer target for hull-procfs's FUSE dispatcher: a stream of requests from a container */
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "instance/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char req[PROCFS_REQUEST_MAX], out[PROCFS_REPLY_MAX];

/* procfs_handle() gives whole messages within the buffer, the last one the reply to the request. */
static void check_reply(size_t len, uint64_t unique)
{
        size_t off = 0;

        if (len > PROCFS_REPLY_MAX)
                abort();
        while (off < len) {
                struct fuse_out_header h;
                if (len - off < sizeof(h))
                        abort();
                memcpy(&h, out + off, sizeof(h));
                if (h.len < sizeof(h) || h.len > len - off)
                        abort();
                /* a notification (unique 0, a positive code) may only be the store before an OPEN's reply */
                if (h.error > 0 ? h.unique != 0 || h.error != FUSE_NOTIFY_STORE || off + h.len == len
                                : h.unique != unique)
                        abort();
                off += h.len;
        }
}

/*
 * The input is requests, each a 2-byte little-endian length and that many bytes (the kernel hands
 * the server whole requests). A request whose header len field is 0 gets its real length written
 * in, so that the fuzzer reaches the handlers without having to guess it. An INIT comes first.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const ProcfsSources src = { .proc_dir = "/proc" };
        struct fuse_in_header h = {
                .len = sizeof(h) + sizeof(struct fuse_init_in), .opcode = FUSE_INIT, .unique = 1
        };
        struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION };
        Procfs *p = procfs_new(&src);
        size_t pos = 0;

        memcpy(req, &h, sizeof(h));
        memcpy(req + sizeof(h), &init, sizeof(init));
        check_reply(procfs_handle(p, req, h.len, out), 1);
        while (size - pos >= 2) {
                size_t n = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
                pos += 2;
                if (n > size - pos)
                        n = size - pos;
                if (n > sizeof(req))
                        n = sizeof(req);
                memcpy(req, data + pos, n);
                pos += n;
                if (n >= sizeof(h)) {
                        memcpy(&h, req, sizeof(h));
                        if (h.len == 0) {
                                h.len = (uint32_t)n;
                                memcpy(req, &h, sizeof(h));
                        }
                }
                check_reply(procfs_handle(p, req, n, out), n >= sizeof(h) ? h.unique : 0);
        }
        procfs_free(p);
        return 0;
}
