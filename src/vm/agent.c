/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent.c: hull's side of the hull-agent protocol: requests on a port's socket, a session's streams */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/process.h"
#include "vm/agent-proto.h"
#include "vm/agent.h"

#define CONTROL_TIMEOUT_MS 10000
#define STDIN_CHUNK 16384

struct VmAgent {
        int fd;
        VmFrame *frame;
        uint8_t *wbuf; /* frames the socket has not taken yet (the pump never blocks on it) */
        size_t wlen;
};


VmAgent *vm_agent_free(VmAgent *a)
{
        if (!a)
                return NULL;
        closep(&a->fd);
        free(a->frame);
        free(a->wbuf);
        free(a);
        return NULL;
}

int vm_agent_connect(const char *socket_path, int timeout_ms, VmAgent **ret, Error **err)
{
        int fd = unix_connect_wait(socket_path, timeout_ms, err);
        VmAgent *a;

        if (fd < 0)
                return error_wrap(err, fd, "agent");
        a = xnew0(VmAgent, 1);
        a->fd = fd;
        a->frame = xnew0(VmFrame, 1);
        *ret = a;
        return 0;
}

/* Queues one frame for the socket. */
static void queue_frame(VmAgent *a, uint8_t type, const void *data, size_t len)
{
        a->wbuf = xrealloc(a->wbuf, a->wlen + VM_FRAME_HEADER_SIZE + len);
        vm_frame_header(a->wbuf + a->wlen, type, (uint32_t)len);
        if (len > 0)
                memcpy(a->wbuf + a->wlen + VM_FRAME_HEADER_SIZE, data, len);
        a->wlen += VM_FRAME_HEADER_SIZE + len;
}

/* Sends what is queued; with is_blocking, all of it. MSG_NOSIGNAL: a gone guest is EPIPE, not SIGPIPE. */
static int flush(VmAgent *a, bool is_blocking)
{
        while (a->wlen > 0) {
                ssize_t n = send(a->fd, a->wbuf, a->wlen, MSG_NOSIGNAL | (is_blocking ? 0 : MSG_DONTWAIT));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN && !is_blocking)
                                return 0;
                        return -errno;
                }
                memmove(a->wbuf, a->wbuf + n, a->wlen - (size_t)n);
                a->wlen -= (size_t)n;
        }
        return 0;
}

static int send_frame(VmAgent *a, uint8_t type, const void *data, size_t len, Error **err)
{
        int r;

        if (len > VM_FRAME_MAX)
                return error_setf(err, EMSGSIZE, "agent request of %zu bytes: over the %d byte limit", len,
                                  VM_FRAME_MAX);
        queue_frame(a, type, data, len);
        r = flush(a, true);
        if (r < 0)
                return error_set(err, r, "send to the agent");
        return 0;
}

/* The agent's ERROR frame as an Error: its errno and its message. */
static int agent_error(const VmFrame *f, Error **err)
{
        int code = f->len >= 4 ? (int)vm_get_u32(f->data) : EPROTO;

        if (code <= 0)
                code = EPROTO;
        return error_setf(err, code, "agent: %.*s", (int)(f->len >= 4 ? f->len - 4 : 0), (const char *)f->data + 4);
}

/* Waits for the answer to a request (OK, ERROR or STARTED), skipping anything else. */
static int wait_reply(VmAgent *a, int timeout_ms, Error **err)
{
        int64_t deadline = monotonic_ms() + timeout_ms;
        int r;

        for (;;) {
                struct pollfd p = { .fd = a->fd, .events = POLLIN };
                int64_t left = deadline - monotonic_ms();
                if (left <= 0)
                        return error_setf(err, ETIMEDOUT, "the agent did not answer within %d ms", timeout_ms);
                r = poll(&p, 1, (int)left);
                if (r < 0 && errno != EINTR)
                        return error_set(err, errno, "wait for the agent");
                if (r <= 0)
                        continue;
                r = vm_frame_read(a->fd, a->frame);
                if (r == -EPIPE)
                        return error_setf(err, EPIPE, "the agent's connection closed");
                if (r < 0)
                        return error_set(err, r, "read from the agent");
                switch (a->frame->type) {
                case VM_FRAME_OK:
                case VM_FRAME_STARTED:
                        return a->frame->type;
                case VM_FRAME_ERROR:
                        return agent_error(a->frame, err);
                default:
                        log_debug("agent: frame 0x%x while waiting for an answer, ignoring", a->frame->type);
                }
        }
}

static int add_record(uint8_t *buf, size_t *len, const char *key, const char *value, Error **err)
{
        if (vm_records_add(buf, VM_FRAME_MAX, len, key, value) < 0)
                return error_setf(err, E2BIG, "exec request: over %d bytes", VM_FRAME_MAX);
        return 0;
}

static int build_exec(const VmExecRequest *req, uint8_t *buf, size_t *len, Error **err)
{
        char num[16];
        int r = 0;

        if (!req->args || !req->args[0])
                return error_setf(err, EINVAL, "exec request without a command");
        for (size_t i = 0; r >= 0 && req->args[i]; i++)
                r = add_record(buf, len, "arg", req->args[i], err);
        for (size_t i = 0; r >= 0 && req->env && req->env[i]; i++)
                r = add_record(buf, len, "env", req->env[i], err);
        if (r >= 0 && req->cwd)
                r = add_record(buf, len, "cwd", req->cwd, err);
        if (r >= 0 && req->user)
                r = add_record(buf, len, "user", req->user, err);
        if (r >= 0 && req->is_tty)
                r = add_record(buf, len, "tty", "1", err);
        if (r >= 0 && req->is_tty && req->rows && req->cols) {
                snprintf(num, sizeof(num), "%u", req->rows);
                r = add_record(buf, len, "rows", num, err);
                snprintf(num, sizeof(num), "%u", req->cols);
                if (r >= 0)
                        r = add_record(buf, len, "cols", num, err);
        }
        if (r >= 0 && req->is_main)
                r = add_record(buf, len, "main", "1", err);
        if (r >= 0 && req->is_detached)
                r = add_record(buf, len, "detach", "1", err);
        if (r >= 0 && req->then_poweroff)
                r = add_record(buf, len, "then", "poweroff", err);
        return r;
}

int vm_agent_exec(VmAgent *a, const VmExecRequest *req, int timeout_ms, pid_t *ret_pid, Error **err)
{
        _cleanup_free_ uint8_t *buf = xmalloc(VM_FRAME_MAX);
        size_t len = 0;
        int r;

        r = build_exec(req, buf, &len, err);
        if (r < 0)
                return r;
        r = send_frame(a, VM_FRAME_EXEC, buf, len, err);
        if (r < 0)
                return r;
        r = wait_reply(a, timeout_ms, err);
        if (r < 0)
                return error_wrap(err, r, "exec '%s'", req->args[0]);
        if (r != VM_FRAME_STARTED || a->frame->len < 4)
                return error_setf(err, EPROTO, "exec '%s': the agent answered without a pid", req->args[0]);
        if (ret_pid)
                *ret_pid = (pid_t)vm_get_u32(a->frame->data);
        return 0;
}

static void send_resize(VmAgent *a, int tty_fd)
{
        struct winsize ws;
        uint8_t buf[4];

        if (tty_fd < 0 || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0)
                return;
        vm_put_u16(buf, ws.ws_row);
        vm_put_u16(buf + 2, ws.ws_col);
        queue_frame(a, VM_FRAME_RESIZE, buf, sizeof(buf));
}

static void pump_signals(VmAgent *a, const VmAgentIo *io)
{
        struct signalfd_siginfo si;
        uint8_t buf[4];

        while (read(io->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGWINCH) {
                        send_resize(a, io->in_fd);
                        continue;
                }
                vm_put_u32(buf, si.ssi_signo);
                queue_frame(a, VM_FRAME_SIGNAL, buf, sizeof(buf));
        }
}

/* Reads a chunk of stdin into a STDIN frame; false at its end (an empty STDIN was queued). */
static bool pump_stdin(VmAgent *a, int in_fd)
{
        uint8_t buf[STDIN_CHUNK];
        ssize_t n = read(in_fd, buf, sizeof(buf));

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0) {
                queue_frame(a, VM_FRAME_STDIN, NULL, 0);
                return false;
        }
        queue_frame(a, VM_FRAME_STDIN, buf, (size_t)n);
        return true;
}

/* Takes one frame from the guest: 1 with *ret_status at EXIT, 0 to go on, or -errno. */
static int pump_frame(VmAgent *a, const VmAgentIo *io, int *ret_status, Error **err)
{
        VmFrame *f = a->frame;
        int r = vm_frame_read(a->fd, f);

        if (r == -EPIPE)
                return error_setf(err, EPIPE, "the agent's connection closed before the process exited");
        if (r < 0)
                return error_set(err, r, "read from the agent");
        switch (f->type) {
        case VM_FRAME_STDOUT:
        case VM_FRAME_STDERR:
                /* Output nobody takes (a closed pipe) is dropped, as the header promises. */
                if (f->len > 0)
                        (void)fd_write_all(f->type == VM_FRAME_STDOUT ? io->out_fd : io->err_fd, f->data, f->len);
                return 0;
        case VM_FRAME_EXIT:
                if (f->len < 4)
                        return error_setf(err, EPROTO, "agent: EXIT without a status");
                *ret_status = (int)vm_get_u32(f->data);
                return 1;
        default:
                return 0;
        }
}

int vm_agent_pump(VmAgent *a, const VmAgentIo *io, int *ret_status, Error **err)
{
        bool has_stdin = io->in_fd >= 0;
        int r;

        if (!has_stdin)
                queue_frame(a, VM_FRAME_STDIN, NULL, 0);
        for (;;) {
                struct pollfd p[3] = {
                        { .fd = a->fd, .events = (short)(POLLIN | (a->wlen > 0 ? POLLOUT : 0)) },
                        /* stdin is read only while the socket keeps up: the guest's back-pressure reaches us */
                        { .fd = has_stdin && a->wlen == 0 ? io->in_fd : -1, .events = POLLIN },
                        { .fd = io->sig_fd, .events = POLLIN },
                };
                r = flush(a, false);
                if (r < 0)
                        return error_set(err, r == -EPIPE || r == -ECONNRESET ? -EPIPE : r, "send to the agent");
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return error_set(err, errno, "poll");
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = pump_frame(a, io, ret_status, err);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
                if (p[1].revents)
                        has_stdin = pump_stdin(a, io->in_fd);
                if (p[2].revents)
                        pump_signals(a, io);
        }
}

static int request(VmAgent *a, uint8_t type, const void *data, size_t len, Error **err)
{
        int r = send_frame(a, type, data, len, err);

        if (r < 0)
                return r;
        r = wait_reply(a, CONTROL_TIMEOUT_MS, err);
        return r < 0 ? r : 0;
}

int vm_agent_signal(VmAgent *a, int sig, Error **err)
{
        uint8_t buf[4];

        vm_put_u32(buf, (uint32_t)sig);
        return error_wrap(err, request(a, VM_FRAME_SIGNAL, buf, sizeof(buf), err), "signal %d", sig);
}

int vm_agent_poweroff(VmAgent *a, unsigned timeout_s, Error **err)
{
        uint8_t buf[4];

        vm_put_u32(buf, timeout_s);
        return error_wrap(err, request(a, VM_FRAME_POWEROFF, buf, sizeof(buf), err), "power off");
}

/* A FILE request's payload into buf (VM_FRAME_MAX bytes); its length, or -EFBIG. */
static int build_file(const VmAgentFile *f, uint8_t *buf, size_t *ret_len, Error **err)
{
        char m[16];
        size_t n = 0;

        snprintf(m, sizeof(m), "%o", (unsigned)f->mode & 07777);
        if (vm_records_add(buf, VM_FRAME_MAX, &n, "path", f->path) < 0 ||
            vm_records_add(buf, VM_FRAME_MAX, &n, "mode", m) < 0 || VM_FRAME_MAX - n < 5 + f->len)
                return error_setf(err, EFBIG, "write '%s' in the guest: over %d bytes", f->path, VM_FRAME_MAX);
        /* data= is the last record and takes the rest of the payload, raw. */
        memcpy(buf + n, "data=", 5);
        if (f->len > 0)
                memcpy(buf + n + 5, f->data, f->len);
        *ret_len = n + 5 + f->len;
        return 0;
}

int vm_agent_write_file(VmAgent *a, const char *path, mode_t mode, const void *data, size_t len, Error **err)
{
        VmAgentFile f = { .path = path, .mode = mode, .data = data, .len = len };

        return vm_agent_write_files(a, &f, 1, CONTROL_TIMEOUT_MS, err);
}

int vm_agent_write_files(VmAgent *a, const VmAgentFile *files, size_t n, int timeout_ms, Error **err)
{
        _cleanup_free_ uint8_t *buf = xmalloc(VM_FRAME_MAX);
        int r, first = 0;

        for (size_t i = 0; i < n; i++) {
                size_t len = 0;
                r = build_file(&files[i], buf, &len, err);
                if (r < 0)
                        return r;
                queue_frame(a, VM_FRAME_FILE, buf, len);
        }
        r = flush(a, true);
        if (r < 0)
                return error_set(err, r, "send to the agent");
        for (size_t i = 0; i < n; i++) {
                r = wait_reply(a, timeout_ms, first < 0 ? NULL : err);
                if (r < 0 && first == 0)
                        first = error_wrap(err, r, "write '%s' in the guest", files[i].path);
                /* No answer, or no connection: the other answers will not come either. */
                if (r == -ETIMEDOUT || r == -EPIPE)
                        break;
        }
        return first;
}

int vm_agent_netconf(VmAgent *a, const char *addr, const char *gw, unsigned mtu, Error **err)
{
        uint8_t buf[256];
        char m[16];
        size_t n = 0;
        int r;

        r = vm_records_add(buf, sizeof(buf), &n, "addr", addr);
        if (r >= 0 && gw)
                r = vm_records_add(buf, sizeof(buf), &n, "gw", gw);
        if (r >= 0 && mtu > 0) {
                snprintf(m, sizeof(m), "%u", mtu);
                r = vm_records_add(buf, sizeof(buf), &n, "mtu", m);
        }
        if (r < 0)
                return error_setf(err, EINVAL, "network configuration for '%s': too long", addr);
        return error_wrap(err, request(a, VM_FRAME_NETCONF, buf, n, err), "configure the guest's network");
}
