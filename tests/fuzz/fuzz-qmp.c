/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-qmp.c: libFuzzer target for the QMP client: the bytes as what QEMU sends, through a socketpair */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "vm/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX 65536

static const char greeting[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
                               "{\"return\": {}, \"id\": 1}\r\n";

/* Each failure is one of the documented codes, with a message. */
static void check_failure(int r, Error *e)
{
        if (r >= 0)
                return;
        if (!e || !e->msg)
                abort();
        if (r != -EIO && r != -EPIPE && r != -EPROTO && r != -ETIMEDOUT && r != -EAGAIN)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_json_ json_t *ret = NULL, *ev = NULL, *mig = NULL;
        _cleanup_error_ Error *e1 = NULL;
        _cleanup_error_ Error *e2 = NULL;
        _cleanup_error_ Error *e3 = NULL;
        _cleanup_error_ Error *e4 = NULL;
        int sv[2], r;

        if (size < 1 || size > STREAM_MAX)
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        /* The client must never block on a peer that does not read. */
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        /* An even first byte: a well-formed greeting first, so the fuzzing reaches the replies. */
        if ((data[0] & 1) == 0 && fd_write_all(sv[1], greeting, strlen(greeting)) < 0)
                abort();
        if (fd_write_all(sv[1], data + 1, size - 1) < 0)
                abort();
        shutdown(sv[1], SHUT_WR);

        r = vm_qmp_open_fd(sv[0], 0, &q, &e1);
        check_failure(r, e1);
        if (r < 0) {
                close(sv[0]);
                close(sv[1]);
                return 0;
        }
        r = vm_qmp_execute(q, "query-status", NULL, 0, &ret, &e2);
        check_failure(r, e2);
        r = vm_qmp_wait_event(q, "STOP", 0, &ev, &e3);
        check_failure(r, e3);
        r = vm_qmp_migrate_wait(q, 0, &mig, &e4);
        check_failure(r, e4);
        close(sv[1]);
        return 0;
}
