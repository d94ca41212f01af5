/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-agent-proto.c: libFuzzer target for the agent protocol: frames from a stream, and record lists */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/agent-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static VmFrame frame, again;
static VmRecordIter it;

/* Every record list iterates to its end or -EBADMSG, each value inside the payload. */
static void check_records(const uint8_t *buf, size_t len)
{
        const char *key, *value;
        size_t vlen, n = 0;
        int r;

        vm_records_init(&it, buf, len);
        while ((r = vm_records_next(&it, &key, &value, &vlen)) > 0) {
                if (strlen(key) + 1 + vlen > len || ++n > len)
                        abort();
        }
        if (r != 0 && r != -EBADMSG)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t pos = 0, used;
        int fd, r;

        /* The agent's non-blocking reader: frames taken from a buffer, garbage skipped. */
        while (pos < size) {
                r = vm_frame_parse(data + pos, size - pos, &frame, &used);
                if (used > size - pos || (r == 0 && used == 0 && size - pos >= VM_FRAME_HEADER_SIZE + VM_FRAME_MAX))
                        abort();
                pos += used;
                if (r == 0)
                        break;
                if (r > 0) {
                        if (frame.len > VM_FRAME_MAX)
                                abort();
                        check_records(frame.data, frame.len);
                }
        }

        /* The host's blocking reader over the same bytes must agree on the first frame. */
        fd = memfd_create("fuzz", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (size > 0 && write(fd, data, size) != (ssize_t)size)
                abort();
        lseek(fd, 0, SEEK_SET);
        r = vm_frame_read(fd, &again);
        close(fd);
        if (r == 0 && (vm_frame_parse(data, size, &frame, &used) != 1 || frame.type != again.type ||
                       frame.len != again.len || memcmp(frame.data, again.data, frame.len) != 0))
                abort();
        return 0;
}
