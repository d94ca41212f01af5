/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* serve.c: the virtio-serial ports: finding them, host connects and disconnects, frames in and out, reaping */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "agent/agent.h"

/* Output held for a port before its process's streams stop being read (back-pressure). */
#define OUT_HIGH (256 * 1024)
#define READ_CHUNK 16384
#define IN_CAP (VM_FRAME_HEADER_SIZE + VM_FRAME_MAX)

typedef struct Port {
        int index;
        int fd;              /* -1 until the port is found */
        bool is_connected;   /* the host side is open */
        uint8_t *in;         /* a partial frame from the host */
        size_t in_len;
        uint8_t *out;        /* frames not yet taken by the port */
        size_t out_len, out_cap;
        Session *session;
} Port;

static Port ports[VM_AGENT_PORTS];
static VmFrame frame;
static int sig_fd = -1;
static int uevent_fd = -1; /* the kernel's uevents: a hot-plugged port appears */
static Port *poweroff_port; /* then=poweroff: the port whose EXIT goes out before the VM powers off */
static int64_t poweroff_deadline; /* POWEROFF while the main process runs: SIGKILL for all at this time */

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void port_flush(Port *p)
{
        while (p->fd >= 0 && p->is_connected && p->out_len > 0) {
                ssize_t n = write(p->fd, p->out, p->out_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return; /* EAGAIN: the host is slow or gone; poll says when it takes more */
                }
                memmove(p->out, p->out + n, p->out_len - (size_t)n);
                p->out_len -= (size_t)n;
        }
}

static void port_send(Port *p, uint8_t type, const void *data, size_t len)
{
        size_t need = p->out_len + VM_FRAME_HEADER_SIZE + len;

        if (need > p->out_cap) {
                size_t cap = p->out_cap ? p->out_cap : 4096;
                while (cap < need)
                        cap *= 2;
                uint8_t *b = realloc(p->out, cap);
                if (!b)
                        return;
                p->out = b;
                p->out_cap = cap;
        }
        vm_frame_header(p->out + p->out_len, type, (uint32_t)len);
        if (len > 0)
                memcpy(p->out + p->out_len + VM_FRAME_HEADER_SIZE, data, len);
        p->out_len = need;
        port_flush(p);
}

static void port_send_error(Port *p, int err, const char *msg)
{
        uint8_t buf[4 + sizeof(agent_error)];
        size_t n = strlen(msg);

        if (n > sizeof(agent_error))
                n = sizeof(agent_error);
        vm_put_u32(buf, (uint32_t)(err < 0 ? -err : err));
        memcpy(buf + 4, msg, n);
        port_send(p, VM_FRAME_ERROR, buf, 4 + n);
}

static void port_reply(Port *p, int r)
{
        if (r < 0)
                port_send_error(p, r, agent_error);
        else
                port_send(p, VM_FRAME_OK, NULL, 0);
}

/* Waits (up to ms) until the port took all its output: before powering off, so the host hears why. */
static void port_drain(Port *p, int ms)
{
        int64_t deadline = now_ms() + ms;

        port_flush(p);
        while (p->fd >= 0 && p->is_connected && p->out_len > 0) {
                int64_t left = deadline - now_ms();
                struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
                if (left <= 0)
                        return;
                poll(&pfd, 1, (int)left);
                port_flush(p);
        }
}

static void check_connected(Port *p)
{
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

        if (p->fd < 0 || p->is_connected)
                return;
        if (poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP)) {
                p->is_connected = true;
                port_flush(p);
        }
}

/* The host closed the port. Port 0 keeps its process and holds its output for the next host (maybe a new
 * QEMU after a restore); on the other ports the process is hung up on, as a terminal's would be. */
static void port_disconnected(Port *p)
{
        p->is_connected = false;
        p->in_len = 0;
        if (p->index == 0)
                return;
        if (p->session) {
                kill(-p->session->pid, SIGHUP);
                kill(p->session->pid, SIGHUP);
                p->session = session_free(p->session);
        }
        p->out_len = 0;
}

static void open_port(const char *dev, int index)
{
        char path[300];
        Port *p = &ports[index];

        snprintf(path, sizeof(path), "/dev/%s", dev);
        p->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0)
                return;
        /* The driver sends SIGIO when the host connects: no timer needed to notice. */
        fcntl(p->fd, F_SETOWN, getpid());
        fcntl(p->fd, F_SETFL, O_NONBLOCK | O_ASYNC);
        check_connected(p);
}

/* Opens the agent ports that have appeared (virtio_console adds them as the host announces them, at
 * boot or hot-plugged later; a port's name comes a moment after the port). */
static void find_ports(void)
{
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *de;

        if (d) {
                while ((de = readdir(d))) {
                        char path[300], name[64] = "";
                        ssize_t n;
                        int fd;
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        n = read(fd, name, sizeof(name) - 1);
                        close(fd);
                        name[n > 0 ? n : 0] = 0;
                        name[strcspn(name, "\n")] = 0;
                        if (strncmp(name, VM_AGENT_PORT_NAME, strlen(VM_AGENT_PORT_NAME)) != 0)
                                continue;
                        int i = atoi(name + strlen(VM_AGENT_PORT_NAME));
                        if (i >= 0 && i < VM_AGENT_PORTS && ports[i].fd < 0)
                                open_port(de->d_name, i);
                }
                closedir(d);
        }
}

/* Listens to the kernel's uevents (virtio-ports "add", and "change" once a port has its name). Without
 * it (no netlink), ports are looked for on a timer instead. */
static void open_uevents(void)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

        if (fd < 0)
                return;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return;
        }
        uevent_fd = fd;
}

/* Takes the uevents queued and looks for ports again: a few directory entries, cheaper than telling
 * the events apart, and nothing is missed when the socket overflowed (ENOBUFS). */
static void handle_uevents(void)
{
        char buf[4096];

        while (recv(uevent_fd, buf, sizeof(buf), 0) > 0 || errno == ENOBUFS)
                ;
        find_ports();
}

static Session *main_session(void)
{
        for (int i = 0; i < VM_AGENT_PORTS; i++)
                if (ports[i].session && ports[i].session->is_main)
                        return ports[i].session;
        return NULL;
}

/* Sends EXIT once the process was reaped and its streams ended, and ends the session. */
static void check_exit(Port *p)
{
        Session *s = p->session;
        uint8_t buf[4];

        if (!s || !s->is_reaped || s->out_fd >= 0 || s->err_fd >= 0)
                return;
        vm_put_u32(buf, (uint32_t)s->status);
        port_send(p, VM_FRAME_EXIT, buf, sizeof(buf));
        if (s->then_poweroff)
                poweroff_port = p;
        p->session = session_free(s);
}

static void reap(void)
{
        int st;
        pid_t pid;

        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                for (int i = 0; i < VM_AGENT_PORTS; i++) {
                        Session *s = ports[i].session;
                        if (!s || s->pid != pid || s->is_reaped)
                                continue;
                        s->is_reaped = true;
                        s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                        check_exit(&ports[i]);
                }
        }
}

static void handle_exec(Port *p, const VmFrame *f)
{
        uint8_t buf[4];
        Session *s;
        int r;

        if (p->session) {
                port_send_error(p, EBUSY, "the port has a process already");
                return;
        }
        r = session_start(f->data, f->len, &s);
        if (r < 0) {
                port_send_error(p, r, agent_error);
                return;
        }
        vm_put_u32(buf, (uint32_t)s->pid);
        port_send(p, VM_FRAME_STARTED, buf, sizeof(buf));
        /* A detached process is no session's: the port is free, and reap() takes it when it ends. */
        if (s->is_detached)
                session_free(s);
        else
                p->session = s;
}

static void handle_signal(Port *p, const VmFrame *f)
{
        Session *s = p->session;
        int sig = f->len >= 4 ? (int)vm_get_u32(f->data) : 0;

        if (sig <= 0 || sig >= NSIG) {
                if (!s)
                        port_send_error(p, EINVAL, "signal out of range");
                return;
        }
        if (s) {
                kill(s->pid, sig); /* a process's own port: no answer, its EXIT tells */
                return;
        }
        s = main_session();
        if (!s)
                port_send_error(p, ESRCH, "no main process to signal");
        else if (kill(s->pid, sig) < 0)
                port_reply(p, agent_fail(errno, "signal %d to %d", sig, (int)s->pid));
        else
                port_send(p, VM_FRAME_OK, NULL, 0);
}

static void handle_poweroff(Port *p, const VmFrame *f)
{
        unsigned timeout = f->len >= 4 ? vm_get_u32(f->data) : 10;

        if (!agent_is_pid1) {
                port_reply(p, boot_request_poweroff());
                return;
        }
        port_send(p, VM_FRAME_OK, NULL, 0);
        port_drain(p, 1000);
        if (main_session() && main_session()->then_poweroff) {
                /* The main process's EXIT (143, as a stopped container's) goes out first: SIGTERM to all, and
                 * the power-off follows that EXIT as usual, or the deadline. */
                kill(-1, SIGTERM);
                poweroff_deadline = now_ms() + (int64_t)timeout * 1000;
                return;
        }
        boot_poweroff(timeout);
}

static void handle_frame(Port *p, const VmFrame *f)
{
        switch (f->type) {
        case VM_FRAME_EXEC:
                handle_exec(p, f);
                break;
        case VM_FRAME_STDIN:
                if (p->session)
                        session_input(p->session, f->data, f->len);
                break;
        case VM_FRAME_SIGNAL:
                handle_signal(p, f);
                break;
        case VM_FRAME_RESIZE:
                if (p->session && f->len >= 4)
                        session_resize(p->session, vm_get_u16(f->data), vm_get_u16(f->data + 2));
                break;
        case VM_FRAME_POWEROFF:
                handle_poweroff(p, f);
                break;
        case VM_FRAME_FILE:
                port_reply(p, control_write_file(f->data, f->len));
                break;
        case VM_FRAME_NETCONF:
                port_reply(p, control_netconf(f->data, f->len));
                break;
        default:
                port_send_error(p, EOPNOTSUPP, "unknown request");
                break;
        }
}

static void port_readable(Port *p)
{
        ssize_t n;
        size_t used;
        int r;

        n = read(p->fd, p->in + p->in_len, IN_CAP - p->in_len);
        if (n < 0)
                return; /* EAGAIN, EINTR */
        if (n == 0) {
                port_disconnected(p);
                return;
        }
        p->in_len += (size_t)n;
        /* Frames are taken while the session's stdin keeps up; the rest waits in p->in. */
        while (p->in_len > 0 && !(p->session && p->session->in_len > 0)) {
                r = vm_frame_parse(p->in, p->in_len, &frame, &used);
                memmove(p->in, p->in + used, p->in_len - used);
                p->in_len -= used;
                if (r == 0)
                        break;
                if (r > 0)
                        handle_frame(p, &frame);
        }
}

static void output_readable(Port *p, bool is_err)
{
        Session *s = p->session;
        int *fd = is_err ? &s->err_fd : &s->out_fd;
        uint8_t type = is_err ? VM_FRAME_STDERR : VM_FRAME_STDOUT;
        ssize_t n = read(*fd, frame.data, READ_CHUNK);

        if (n > 0) {
                port_send(p, type, frame.data, (size_t)n);
                return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        /* End of the stream; a terminal's master says EIO once the last slave closed. */
        close(*fd);
        *fd = -1;
        port_send(p, type, NULL, 0);
        check_exit(p);
}

/* SIGCHLD reaps; SIGIO (a host connected) only wakes the loop, which then looks at the ports. */
static void handle_signals(void)
{
        struct signalfd_siginfo si;
        bool is_chld = false;

        while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                is_chld = is_chld || si.ssi_signo == SIGCHLD;
        if (is_chld)
                reap();
}

static int setup(void)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGIO);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sig_fd < 0)
                return agent_fail(errno, "signalfd");
        for (int i = 0; i < VM_AGENT_PORTS; i++) {
                ports[i].index = i;
                ports[i].fd = -1;
                ports[i].in = malloc(IN_CAP);
                if (!ports[i].in)
                        return agent_fail(ENOMEM, "port buffers");
        }
        return 0;
}

/* One poll entry: what it watches. */
typedef struct Watch {
        Port *port;
        unsigned long session_id; /* 0: the port itself */
        int kind;                 /* 0 port, 1 stdout, 2 stderr, 3 stdin */
} Watch;

static void add_watch(struct pollfd *pfds, Watch *w, int *n, int fd, short events, Port *p, int kind)
{
        pfds[*n] = (struct pollfd){ .fd = fd, .events = events };
        w[*n] = (Watch){ .port = p, .session_id = p->session && kind ? p->session->id : 0, .kind = kind };
        (*n)++;
}

static int build_watches(struct pollfd *pfds, Watch *w)
{
        int n = 0;

        pfds[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
        w[n] = (Watch){ .kind = -1 };
        pfds[n++] = (struct pollfd){ .fd = uevent_fd, .events = POLLIN };
        for (int i = 0; i < VM_AGENT_PORTS; i++) {
                Port *p = &ports[i];
                Session *s = p->session;
                bool has_room = p->out_len < OUT_HIGH;
                short ev = (short)((s && s->in_len > 0 ? 0 : POLLIN) | (p->out_len > 0 ? POLLOUT : 0));
                if (p->fd >= 0 && p->is_connected)
                        add_watch(pfds, w, &n, p->fd, ev, p, 0);
                if (!s)
                        continue;
                if (s->out_fd >= 0 && has_room)
                        add_watch(pfds, w, &n, s->out_fd, POLLIN, p, 1);
                if (s->err_fd >= 0 && has_room)
                        add_watch(pfds, w, &n, s->err_fd, POLLIN, p, 2);
                if (s->in_fd >= 0 && s->in_len > 0)
                        add_watch(pfds, w, &n, s->in_fd, POLLOUT, p, 3);
        }
        return n;
}

static void handle_watch(const struct pollfd *pfd, const Watch *w)
{
        Port *p = w->port;
        Session *s = p->session;

        if (!pfd->revents)
                return;
        if (w->kind == 0) {
                if (p->fd != pfd->fd || !p->is_connected)
                        return;
                if (pfd->revents & POLLOUT)
                        port_flush(p);
                if (pfd->revents & POLLIN)
                        port_readable(p);
                else if (pfd->revents & POLLHUP)
                        port_disconnected(p);
                return;
        }
        if (!s || s->id != w->session_id)
                return; /* the session ended earlier in this round */
        if (w->kind == 3) {
                session_flush_input(s);
                if (s->in_len == 0 && p->in_len > 0)
                        port_readable(p); /* frames held back while stdin was full */
        } else if ((w->kind == 1 && s->out_fd == pfd->fd) || (w->kind == 2 && s->err_fd == pfd->fd)) {
                output_readable(p, w->kind == 2);
        }
}

int serve_ports(void)
{
        struct pollfd pfds[2 + VM_AGENT_PORTS * 4];
        Watch w[2 + VM_AGENT_PORTS * 4];
        int64_t start = now_ms();
        int r;

        r = setup();
        if (r < 0)
                return r;
        open_uevents();
        find_ports();
        for (;;) {
                bool is_disconnected = false;
                int n, timeout = -1;

                if (poweroff_port) {
                        port_drain(poweroff_port, 2000);
                        poweroff_port = NULL;
                        if (agent_is_pid1)
                                boot_poweroff(10);
                        boot_request_poweroff();
                }
                if (poweroff_deadline && now_ms() >= poweroff_deadline)
                        boot_poweroff(0);
                for (int i = 0; i < VM_AGENT_PORTS; i++)
                        is_disconnected = is_disconnected || (ports[i].fd >= 0 && !ports[i].is_connected);
                /* Without uevents, ports are looked for on a timer. A disconnected host: SIGIO says when it
                 * comes back; a slow timer backs that up. */
                if (uevent_fd < 0) {
                        find_ports();
                        timeout = now_ms() - start < 15000 ? 10 : 1000;
                } else if (is_disconnected) {
                        timeout = 1000;
                }
                if (poweroff_deadline) {
                        int64_t left = poweroff_deadline - now_ms();
                        if (timeout < 0 || left < timeout)
                                timeout = left < 0 ? 0 : (int)left;
                }
                n = build_watches(pfds, w);
                if (poll(pfds, (nfds_t)n, timeout) < 0 && errno != EINTR)
                        return agent_fail(errno, "poll");
                if (pfds[0].revents)
                        handle_signals();
                if (pfds[1].revents)
                        handle_uevents();
                for (int i = 2; i < n; i++)
                        handle_watch(&pfds[i], &w[i]);
                if (is_disconnected)
                        for (int i = 0; i < VM_AGENT_PORTS; i++)
                                check_connected(&ports[i]);
        }
}
