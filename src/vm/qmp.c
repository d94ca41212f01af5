/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp.c: QMP socket client (commands, replies, queued events, fds passed with getfd), no VM policy */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "qmp.h"

/* A reply (query-qmp-schema is the largest, a few hundred KiB) never comes near this. */
#define QMP_LINE_MAX (16u << 20)
/* Events nobody asks for (RTC_CHANGE, NIC_RX_FILTER_CHANGED) must not pile up forever. */
#define QMP_EVENTS_MAX 1024
#define MIGRATE_POLL_MS 10

struct VmQmp {
        int fd;
        char *buf; /* bytes read and not yet parsed */
        size_t len, cap;
        json_t *events; /* array, oldest first */
        uint64_t next_id;
};


VmQmp *vm_qmp_free(VmQmp *q)
{
        if (!q)
                return NULL;
        if (q->fd >= 0)
                close(q->fd);
        free(q->buf);
        json_decref(q->events);
        free(q);
        return NULL;
}

/* Takes one complete line out of the buffer, parsed: 1 with *ret, 0 when no whole line is there yet. */
static int take_line(VmQmp *q, json_t **ret, Error **err)
{
        char *nl;
        size_t line_len;
        json_error_t jerr;
        bool is_blank;
        json_t *j;

        for (;;) {
                nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
                if (!nl)
                        return 0;
                line_len = (size_t)(nl - q->buf);
                is_blank = strspn(q->buf, " \t\r") >= line_len;
                j = is_blank ? NULL : json_loadb(q->buf, line_len, 0, &jerr);
                /* The line goes, parsed or not: a bad one must not come back on the next read. */
                q->len -= line_len + 1;
                memmove(q->buf, nl + 1, q->len);
                /* QEMU ends messages with "\r\n"; blank lines carry nothing. */
                if (is_blank)
                        continue;
                if (!j)
                        return error_setf(err, EPROTO, "qmp: a message that is not JSON: %s", jerr.text);
                if (!json_is_object(j)) {
                        json_decref(j);
                        return error_setf(err, EPROTO, "qmp: a message that is not a JSON object");
                }
                *ret = j;
                return 1;
        }
}

/* Reads the next message, waiting until deadline: 0 with *ret, ETIMEDOUT, EPIPE, EPROTO. */
static int read_message(VmQmp *q, int64_t deadline, json_t **ret, Error **err)
{
        for (;;) {
                struct pollfd p = { .fd = q->fd, .events = POLLIN };
                ssize_t n;
                int r;

                r = take_line(q, ret, err);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (q->len >= QMP_LINE_MAX)
                        return error_setf(err, EPROTO, "qmp: a message longer than %u bytes", QMP_LINE_MAX);
                r = poll(&p, 1, deadline_left_ms(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return error_set(err, errno, "qmp: poll");
                if (r == 0)
                        return error_setf(err, ETIMEDOUT, "qmp: no answer in time");
                if (q->cap - q->len < 65536) {
                        q->cap = q->cap ? q->cap * 2 : 65536 * 2;
                        q->buf = xrealloc(q->buf, q->cap);
                }
                n = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != ECONNRESET)
                        return error_set(err, errno, "qmp: read");
                if (n <= 0)
                        return error_setf(err, EPIPE, "qmp: QEMU closed the connection");
                q->len += (size_t)n;
        }
}

/* An event goes to the queue (1); anything else is for the caller (0). */
static int keep_if_event(VmQmp *q, json_t *msg)
{
        if (!json_is_string(json_object_get(msg, "event")))
                return 0;
        if (json_array_size(q->events) >= QMP_EVENTS_MAX)
                json_array_remove(q->events, 0);
        json_array_append_new(q->events, msg);
        return 1;
}

/* Sends one command line, with fd in SCM_RIGHTS on the same sendmsg when fd >= 0. Steals args. */
static int send_command(VmQmp *q, const char *command, json_t *args, int fd, uint64_t *ret_id, Error **err)
{
        _cleanup_json_ json_t *msg = json_object();
        _cleanup_free_ char *text = NULL;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = { 0 };
        size_t len, off = 0;
        uint64_t id = ++q->next_id;

        json_object_set_new(msg, "execute", json_string(command));
        if (args)
                json_object_set_new(msg, "arguments", args);
        json_object_set_new(msg, "id", json_integer((json_int_t)id));
        text = json_dump_compact(msg);
        len = strlen(text);
        text = xrealloc(text, len + 2);
        text[len++] = '\n';
        text[len] = 0;

        while (off < len) {
                struct iovec iov = { .iov_base = text + off, .iov_len = len - off };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (fd >= 0 && off == 0) {
                        /* The fd rides with the command's first byte: QEMU takes it when it reads that. */
                        mh.msg_control = control.buf;
                        mh.msg_controllen = sizeof(control.buf);
                        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(c), &fd, sizeof(int));
                }
                n = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return error_setf(err, EPIPE, "'%s': QEMU closed the connection", command);
                if (n < 0)
                        return error_set(err, errno, "'%s': send", command);
                off += (size_t)n;
        }
        *ret_id = id;
        return 0;
}

/* Waits for the reply to command id, keeping events and dropping replies to earlier commands that
 * timed out. */
static int wait_reply(VmQmp *q, const char *command, uint64_t id, int timeout_ms, json_t **ret, Error **err)
{
        int64_t deadline = deadline_ms(timeout_ms);

        for (;;) {
                _cleanup_json_ json_t *msg = NULL;
                json_t *error;
                int r;

                r = read_message(q, deadline, &msg, err);
                if (r < 0)
                        return error_wrap(err, r, "'%s'", command);
                if (keep_if_event(q, msg)) {
                        msg = NULL;
                        continue;
                }
                if (json_integer_value(json_object_get(msg, "id")) != (json_int_t)id)
                        continue;
                error = json_object_get(msg, "error");
                if (error) {
                        const char *desc = json_string_value(json_object_get(error, "desc"));
                        return error_setf(err, EIO, "'%s': %s", command,
                                          desc ? desc : "failed (no description)");
                }
                if (!json_object_get(msg, "return"))
                        return error_setf(err, EPROTO, "'%s': a reply with neither return nor error",
                                          command);
                if (ret)
                        *ret = json_incref(json_object_get(msg, "return"));
                return 0;
        }
}

int vm_qmp_execute(VmQmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret, Error **err)
{
        uint64_t id;
        int r;

        r = send_command(q, command, args, -EBADF, &id, err);
        if (r < 0)
                return r;
        return wait_reply(q, command, id, timeout_ms, ret, err);
}

int vm_qmp_send_fd(VmQmp *q, const char *name, int fd, Error **err)
{
        uint64_t id;
        int r;

        if (fd < 0)
                return error_setf(err, EBADF, "'getfd' '%s': no fd", name);
        r = send_command(q, "getfd", json_pack("{s:s}", "fdname", name), fd, &id, err);
        if (r < 0)
                return r;
        return wait_reply(q, "getfd", id, 10000, NULL, err);
}

/* Takes the first queued event called name: 1 with *ret (may be NULL), 0 when none is queued. */
static int take_event(VmQmp *q, const char *name, json_t **ret)
{
        for (size_t i = 0; i < json_array_size(q->events); i++) {
                json_t *e = json_array_get(q->events, i);
                if (strcmp(json_string_value(json_object_get(e, "event")), name) != 0)
                        continue;
                if (ret)
                        *ret = json_incref(e);
                json_array_remove(q->events, i);
                return 1;
        }
        return 0;
}

int vm_qmp_wait_event(VmQmp *q, const char *name, int timeout_ms, json_t **ret, Error **err)
{
        int64_t deadline = deadline_ms(timeout_ms);

        for (;;) {
                _cleanup_json_ json_t *msg = NULL;
                int r;

                if (take_event(q, name, ret))
                        return 0;
                r = read_message(q, deadline, &msg, err);
                if (r == -ETIMEDOUT) {
                        error_clear(err);
                        return error_setf(err, ETIMEDOUT, "qmp: no event '%s' within %d ms", name,
                                          timeout_ms);
                }
                if (r < 0)
                        return error_wrap(err, r, "wait for event '%s'", name);
                /* A reply now belongs to a command that gave up waiting: dropped. */
                if (keep_if_event(q, msg))
                        msg = NULL;
        }
}

/* Reads what QEMU sends for up to timeout_ms, keeping events: the pause between two polls that
 * still notices a closed connection. */
static int linger(VmQmp *q, int timeout_ms, Error **err)
{
        int64_t deadline = deadline_ms(timeout_ms);

        for (;;) {
                _cleanup_json_ json_t *msg = NULL;
                int r = read_message(q, deadline, &msg, err);
                if (r == -ETIMEDOUT) {
                        error_clear(err);
                        return 0;
                }
                if (r < 0)
                        return r;
                if (keep_if_event(q, msg))
                        msg = NULL;
        }
}

int vm_qmp_migrate_wait(VmQmp *q, int timeout_ms, json_t **ret, Error **err)
{
        int64_t deadline = deadline_ms(timeout_ms);

        for (;;) {
                _cleanup_json_ json_t *info = NULL;
                const char *status;
                int pause = MIGRATE_POLL_MS, r;

                /* A reply may come a little after the deadline: the deadline is the migration's. */
                r = vm_qmp_execute(q, "query-migrate", NULL,
                                   deadline < 0 ? -1 : deadline_left_ms(deadline) + 1000, &info, err);
                if (r < 0)
                        return r;
                status = json_string_value(json_object_get(info, "status"));
                if (status && strcmp(status, "completed") == 0) {
                        if (ret)
                                *ret = TAKE_PTR(info);
                        return 0;
                }
                if (status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
                        const char *desc = json_string_value(json_object_get(info, "error-desc"));
                        return error_setf(err, EIO, "migration %s%s%s", status, desc ? ": " : "",
                                          desc ? desc : "");
                }
                if (deadline >= 0 && deadline_left_ms(deadline) == 0)
                        return error_setf(err, ETIMEDOUT, "migration still '%s' after %d ms",
                                          status ? status : "not started", timeout_ms);
                if (deadline >= 0 && deadline_left_ms(deadline) < pause)
                        pause = deadline_left_ms(deadline);
                r = linger(q, pause, err);
                if (r < 0)
                        return error_wrap(err, r, "wait for the migration");
        }
}

/* Reads the greeting and leaves capabilities negotiation mode. */
static int handshake(VmQmp *q, int timeout_ms, Error **err)
{
        _cleanup_json_ json_t *greeting = NULL;
        int r;

        r = read_message(q, deadline_ms(timeout_ms), &greeting, err);
        if (r < 0)
                return error_wrap(err, r, "greeting");
        if (!json_is_object(json_object_get(greeting, "QMP")))
                return error_setf(err, EPROTO, "qmp: the first message is no QMP greeting");
        return vm_qmp_execute(q, "qmp_capabilities", NULL, timeout_ms, NULL, err);
}

int vm_qmp_open_fd(int fd, int timeout_ms, VmQmp **ret, Error **err)
{
        _cleanup_(vm_qmp_freep) VmQmp *q = xnew0(VmQmp, 1);
        int r;

        q->fd = fd;
        q->events = json_array();
        r = handshake(q, timeout_ms, err);
        if (r < 0) {
                q->fd = -EBADF; /* the caller keeps its fd on failure */
                return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

int vm_qmp_connect(const char *socket_path, int timeout_ms, VmQmp **ret, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        int64_t deadline = deadline_ms(timeout_ms);
        int r;

        fd = unix_connect_wait(socket_path, timeout_ms, err);
        if (fd < 0)
                return fd;
        r = vm_qmp_open_fd(fd, deadline < 0 ? -1 : deadline_left_ms(deadline) + 1000, ret, err);
        if (r < 0)
                return error_wrap(err, r, "qmp '%s'", socket_path);
        TAKE_FD(fd);
        log_debug("qmp: connected to '%s'", socket_path);
        return 0;
}
