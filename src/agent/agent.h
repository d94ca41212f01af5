/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent.h: what hull-agent's files share: boot, network, users, sessions, the port loop (libc only) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/agent-proto.h"

#define AGENT_PATH_MAX 4096

/* The hull.* parameters of the kernel command line. */
typedef struct AgentConfig {
        bool is_system;
        bool is_poweroff; /* hull.mode=poweroff: boot, then power off at once (the baseline of bench/vm.sh) */
        char root[256];
        char init[256];
        char ip[64];
        char gw[64];
        unsigned mtu;
        char hostname[65];
} AgentConfig;

/* The message of the last failure, set by agent_fail(): single-threaded, so one buffer serves. */
extern char agent_error[512];
/* True when this process is PID 1 (app mode, or system mode before it executes the image's init). */
extern bool agent_is_pid1;

/* Formats the message into agent_error with ": strerror(errnum)" appended; returns -errnum. */
int agent_fail(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hull-agent: <message>" on the console (stderr). */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a boot failure on the console and powers the VM off: never returns. */
void agent_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* boot.c */
/* Mounts /dev, /proc and /sys of the initramfs, takes the console as stdio and loads the modules of
 * /lib/modules/hull.load. -errno with agent_error. */
int boot_initramfs(void);
/* Reads the hull.* parameters of /proc/cmdline into *c (defaults first). */
int boot_read_cmdline(AgentConfig *c);
/* Waits for the root device, mounts it, frees the initramfs, makes the disk the root and mounts the API
 * file systems in it. -errno with agent_error. */
int boot_switch_root(const AgentConfig *c);
/* Hostname, loopback and eth0 as the parameters say; failures of the network are reported, not fatal. */
void boot_setup_system(const AgentConfig *c);
/* App mode: SIGTERM to every process, SIGKILL after timeout_s, sync, root read-only, power off. */
void boot_poweroff(unsigned timeout_s) __attribute__((noreturn));
/* System mode: asks PID 1 to power off (systemd: SIGRTMIN+4, else SIGUSR2). */
int boot_request_poweroff(void);

/* net.c */
/* Brings a link up. -errno with agent_error. */
int net_link_up(const char *ifname);
/* Sets ifname's IPv4 address (A.B.C.D/LEN; NULL or "": leave it), MTU (0: leave it) and default route
 * (gw NULL or "": none), replacing the address and default route it had, and brings it up. */
int net_configure(const char *ifname, const char *addr, const char *gw, unsigned mtu);

/* user.c */
typedef struct AgentUser {
        uid_t uid;
        gid_t gid;
        gid_t groups[64];
        int n_groups;
        char home[AGENT_PATH_MAX];
} AgentUser;
/* Resolves "name", "uid", "name:group" or "uid:gid" (NULL or "": root) in /etc/passwd and /etc/group.
 * An unknown name is EINVAL: ENOENT from EXEC means "no such command" to the host. */
int user_resolve(const char *spec, AgentUser *ret);

/* session.c: a process started by EXEC and its streams */
typedef struct Session {
        unsigned long id;         /* unique for the agent's life: tells a new session from a freed one */
        pid_t pid;
        bool is_main, is_tty, then_poweroff;
        bool is_detached;         /* detach=1: stdio on /dev/null, the session ends once STARTED is sent */
        int in_fd;                /* stdin pipe or the terminal's master; -1 once closed */
        int out_fd, err_fd;       /* -1 once the stream ended */
        uint8_t *in_buf;          /* host data not yet taken by the process */
        size_t in_len;
        bool is_in_eof;           /* an empty STDIN came: close stdin once in_buf is drained */
        bool is_reaped;
        int status;               /* shell form, once reaped */
} Session;

/* Starts the process an EXEC frame describes. 0 with *ret (pid known), or -errno with agent_error. */
int session_start(const uint8_t *payload, size_t len, Session **ret);
/* Closes the session's fds and frees it; the process is left alone. NULL. */
Session *session_free(Session *s);
/* Takes host input: appends to in_buf, or marks the end of input (len 0), and writes what stdin takes. */
void session_input(Session *s, const uint8_t *data, size_t len);
/* Writes buffered input to stdin as far as it takes it without blocking; closes stdin at the end of input. */
void session_flush_input(Session *s);
/* Sets the terminal's size. */
void session_resize(Session *s, unsigned rows, unsigned cols);

/* control.c: FILE and NETCONF, each -errno with agent_error */
int control_write_file(const uint8_t *payload, size_t len);
int control_netconf(const uint8_t *payload, size_t len);

/* serve.c */
/* Finds the ports and serves them until the VM powers off. Returns only on failure (-errno). */
int serve_ports(void);
