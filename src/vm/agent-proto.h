/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-proto.h: the wire protocol between hull and hull-agent, PID 1 inside a VM, over virtio-serial */
#pragma once

/*
 * The guest has virtio-serial ports named "org.hull.agent.0" .. "org.hull.agent.<N-1>", each a QEMU
 * chardev unix socket (server) on the host. A VM boots with VM_AGENT_BOOT_PORTS of them; the host
 * hot-plugs more (up to VM_AGENT_PORTS, virtio-serial port number = index + 1) when all are busy, and the
 * agent opens each as it appears (it watches the kernel's uevents). Every port costs the guest time at
 * boot under TCG, so they are made when wanted. A port carries one session at a time: the host
 * connects, sends requests, reads replies, disconnects. Port 0 belongs to whoever supervises the VM:
 * it starts the main process there (EXEC with main=1) and reads its output and exit status. The
 * other ports serve `hull exec` and control requests (SIGNAL, POWEROFF, FILE, NETCONF).
 *
 * Each message is a frame: a 12-byte header, then len bytes of payload (at most VM_FRAME_MAX).
 * The header is u32 magic (VM_FRAME_MAGIC), u8 type, 3 bytes zero, u32 len.
 * All integers are little-endian. A reader that finds no magic at a header's place has lost the frame
 * boundary (a VM restored from a snapshot resumes mid-stream) and skips forward to the next magic.
 *
 * Requests whose payload is a record list carry "key=value\0" records; a key may repeat (arg, env),
 * the order of repeated keys is kept.
 *
 * hull-agent's boot parameters come on the kernel command line (it reads /proc/cmdline):
 *   hull.mode=app|system  app (default): the agent stays PID 1, the image's command comes by EXEC on port 0
 *                         and the VM powers off when the host says so. system: the agent forks itself off to
 *                         serve the ports and PID 1 executes hull.init. poweroff: boot (modules, root
 *                         disk, network), then power off at once: what bench/vm.sh compares hull with.
 *   hull.root=DEV         the root disk (ext4), default /dev/vda; mounted, then made the root (switch_root).
 *   hull.init=PATH        system mode: the image's init, default /sbin/init
 *   hull.ip=A.B.C.D/LEN hull.gw=A.B.C.D hull.mtu=N   eth0's address, default route and MTU; none: lo only
 *   hull.hostname=NAME
 * The initramfs holds /init (hull-agent) and /lib/modules/hull.load: one .ko path per line, in the order
 * to load them (dependencies first); the agent loads them with finit_module(2) before anything else.
 *
 * This file and agent-proto.c use libc only: hull-agent is a static program built from them.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_AGENT_PORTS 8      /* at most */
#define VM_AGENT_BOOT_PORTS 1 /* a VM boots with port 0 (its supervisor's); the first other session adds port 1 */
#define VM_AGENT_PORT_NAME "org.hull.agent." /* + port number */
#define VM_FRAME_MAGIC 0x48554c4cu /* "LLUH" on the wire: 'L' 'L' 'U' 'H' */
#define VM_FRAME_HEADER_SIZE 12
#define VM_FRAME_MAX 65536

typedef enum VmFrameType {
        /* host -> guest */
        VM_FRAME_EXEC = 1,      /* records: arg= (1 or more, argv in order), env= (0 or more), cwd=, user= (a name or
                                 * uid[:gid], resolved in the guest's /etc/passwd and /etc/group), tty=1, rows=, cols=,
                                 * main=1 (the VM's main process: SIGNAL on a port without a process goes to it),
                                 * then=poweroff (once the process's EXIT is sent, the agent powers the VM off as for
                                 * POWEROFF with 10 s), detach=1 (stdin, stdout and stderr on /dev/null, not tied to
                                 * the port: the port is free again at once, nothing but STARTED is sent for it, and
                                 * the agent reaps it). The agent answers STARTED, or ERROR (ENOENT: no such command;
                                 * EACCES; ...). */
        VM_FRAME_STDIN = 2,     /* data for the process's stdin (or its terminal); empty: end of input */
        VM_FRAME_SIGNAL = 3,    /* u32 signal: for this port's process (no answer), or the main process when this
                                 * port has none (answer OK, or ERROR ESRCH when there is no main process) */
        VM_FRAME_RESIZE = 4,    /* u16 rows, u16 cols: the terminal of this port's process */
        VM_FRAME_POWEROFF = 5,  /* u32 seconds: SIGTERM to every process, SIGKILL after that long, sync, unmount,
                                 * power off. The agent answers OK first. */
        VM_FRAME_FILE = 6,      /* records: path=, mode= (octal), data= (the rest of the payload after "data=", raw):
                                 * writes a file in the guest (parents made), atomically (a rename; not synced to disk).
                                 * Answer OK or ERROR. */
        VM_FRAME_NETCONF = 7,   /* records: addr= (A.B.C.D/LEN), gw=, mtu=: sets eth0's address and default route,
                                 * replacing what it had. Answer OK or ERROR. */

        /* guest -> host */
        VM_FRAME_STARTED = 0x81, /* u32 pid of the process EXEC started */
        VM_FRAME_STDOUT = 0x82,  /* data; empty: the stream reached its end */
        VM_FRAME_STDERR = 0x83,  /* data; empty: the stream reached its end (never sent with tty=1) */
        VM_FRAME_EXIT = 0x84,    /* i32 status, shell form: code, or 128+signal. Sent after both streams ended. */
        VM_FRAME_ERROR = 0x85,   /* i32 errno, then a message (no NUL): the request failed */
        VM_FRAME_OK = 0x86,      /* the request was carried out */
} VmFrameType;

typedef struct VmFrame {
        uint8_t type;
        uint32_t len;
        uint8_t data[VM_FRAME_MAX];
} VmFrame;

/* Writes one frame whole (retrying short writes and EINTR). 0, or -errno. */
int vm_frame_write(int fd, uint8_t type, const void *data, size_t len);
/* Reads one frame whole (skipping to the next magic when the stream is out of step). 0, -EPIPE at end
 * of stream, -EBADMSG for a frame longer than VM_FRAME_MAX, or -errno. */
int vm_frame_read(int fd, VmFrame *f);

/* Fills a frame header (VM_FRAME_HEADER_SIZE bytes) for a payload of len bytes. */
void vm_frame_header(uint8_t *hdr, uint8_t type, uint32_t len);
/* Takes one frame from the start of buf (len bytes), for readers that cannot block: returns 1 with the frame
 * in *f, 0 when buf holds no whole frame yet; *ret_used is how much of buf was consumed (skipped bytes that
 * start no frame included), also when 0 is returned. -EBADMSG for a frame longer than VM_FRAME_MAX (its
 * header is consumed). */
int vm_frame_parse(const uint8_t *buf, size_t len, VmFrame *f, size_t *ret_used);

/* Builds a record list: appends "key=value\0" to buf (of size cap, *len used). -ENOSPC when full. */
int vm_records_add(uint8_t *buf, size_t cap, size_t *len, const char *key, const char *value);
/* Iterates a record list: *pos starts at 0; returns 1 with *key and *value (NUL-terminated, pointing into
 * a scratch copy in rec of size VM_FRAME_MAX + 1), 0 at the end, -EBADMSG for a record without '=' or
 * without its NUL. A "data=" record takes the rest of the payload. */
typedef struct VmRecordIter {
        const uint8_t *buf;
        size_t len;
        size_t pos;
        char scratch[VM_FRAME_MAX + 1];
} VmRecordIter;
void vm_records_init(VmRecordIter *it, const uint8_t *buf, size_t len);
int vm_records_next(VmRecordIter *it, const char **key, const char **value, size_t *value_len);

/* u32/i32/u16 in payloads. */
void vm_put_u32(uint8_t *p, uint32_t v);
uint32_t vm_get_u32(const uint8_t *p);
void vm_put_u16(uint8_t *p, uint16_t v);
uint16_t vm_get_u16(const uint8_t *p);
