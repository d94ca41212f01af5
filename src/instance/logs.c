/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* logs.c: an instance's log (CRI lines written by its monitor) back to stdout and stderr */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

#include "common/alloc.h"
#include "common/process.h"
#include "instance.h"

/* Writes one "<time> <stream> <F|P> <text>" record to the stream it came from. */
static void emit(const char *line, size_t n, bool has_timestamps)
{
        const char *ts = line, *sp1, *sp2, *text;
        FILE *out;

        sp1 = memchr(line, ' ', n);
        if (!sp1)
                return;
        sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
        if (!sp2 || (size_t)(sp2 + 2 - line) > n)
                return;
        out = strncmp(sp1 + 1, "stderr ", 7) == 0 ? stderr : stdout;
        text = sp2 + 3 <= line + n ? sp2 + 3 : line + n;
        if (has_timestamps)
                fprintf(out, "%.*s ", (int)(sp1 - ts), ts);
        fwrite(text, 1, (size_t)(line + n - text), out);
        /* F ends a line; P is a piece of one that goes on in the next record. */
        if (sp2[1] == 'F')
                fputc('\n', out);
}

/* Prints every complete record from fd; keeps a trailing partial one in buf for the next call. */
static int drain(int fd, char **buf, size_t *len, size_t *cap, bool has_timestamps, Error **err)
{
        for (;;) {
                ssize_t n;
                if (*cap - *len < 65536) {
                        *cap = *cap * 2 + 65536;
                        *buf = xrealloc(*buf, *cap);
                }
                n = read(fd, *buf + *len, *cap - *len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, errno, "read log");
                if (n == 0)
                        break;
                *len += (size_t)n;
                size_t start = 0;
                for (size_t i = 0; i < *len; i++)
                        if ((*buf)[i] == '\n') {
                                emit(*buf + start, i - start, has_timestamps);
                                start = i + 1;
                        }
                memmove(*buf, *buf + start, *len - start);
                *len -= start;
        }
        fflush(stdout);
        fflush(stderr);
        return 0;
}

int inst_logs(InstContext *c, InstRecord *rec, bool is_follow, bool has_timestamps, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, rec->id, "ctr.log"), *buf = NULL;
        _cleanup_close_ int fd = -EBADF, ino = -EBADF;
        size_t len = 0, cap = 0;
        InstState state;
        pid_t pid;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return error_set(err, errno, "open log '%s'", path);
        if (fd >= 0) {
                r = drain(fd, &buf, &len, &cap, has_timestamps, err);
                if (r < 0)
                        return r;
        }
        if (!is_follow)
                return 0;
        r = inst_state(c, rec, &state, &pid, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING && state != INST_STATE_PAUSED)
                return 0;

        /* Follow: read on every change of the file until the container's init is gone. */
        _cleanup_close_ int pfd = pidfd_open_pid(pid);
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0)
                return error_set(err, errno, "inotify");
        if (fd < 0)
                fd = open(path, O_RDONLY | O_CLOEXEC | O_CREAT, 0640);
        if (fd < 0 || inotify_add_watch(ino, path, IN_MODIFY) < 0)
                return error_set(err, errno, "watch log '%s'", path);
        for (;;) {
                struct pollfd p[2] = { { .fd = ino, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
                char ev[4096];

                r = drain(fd, &buf, &len, &cap, has_timestamps, err);
                if (r < 0)
                        return r;
                if (pfd < 0)
                        break;
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return error_set(err, errno, "poll");
                while (read(ino, ev, sizeof(ev)) > 0)
                        ;
                if (p[1].revents) {
                        /* The init is gone: its monitor writes what is left, then exits. */
                        close(pfd);
                        pfd = -EBADF;
                        r = inst_state(c, rec, &state, NULL, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
