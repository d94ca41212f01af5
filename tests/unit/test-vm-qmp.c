/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-vm-qmp.c: QMP against a real QEMU booting a tiny guest: commands, events, save and restore over fds,
 * live migration; protocol edge cases against a scripted peer on a socketpair */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "vm/agent-proto.h"
#include "vm/qemu.h"
#include "vm/qmp.h"

#define KERNEL "/boot/vmlinuz-6.1.0-56-cloud-amd64"
#define BUSYBOX "/bin/busybox"
#define GUEST_MEMORY (256 << 20)
#define MAX_VMS 4

/* The guest's /init: a counter on the serial console, to tell a resumed guest from a rebooted one. */
static const char init_script[] = "#!/bin/sh\n"
                                  "/bin/busybox mount -t devtmpfs dev /dev\n"
                                  "i=0\n"
                                  "while true; do\n"
                                  "  echo \"count $i\" > /dev/ttyS0\n"
                                  "  i=$((i+1))\n"
                                  "  /bin/busybox sleep 0.1\n"
                                  "done\n";

typedef struct Fixture {
        char dir[64];
        char initrd[128];
        uint32_t tsc_khz;
        pid_t pids[MAX_VMS];
        size_t n_pids;
} Fixture;

static Fixture fixture;

/* ---- a newc cpio archive, enough for an initramfs ---- */

static void cpio_entry(FILE *f, const char *name, mode_t mode, const void *data, size_t size)
{
        static unsigned ino = 1;
        static const char zeros[4];
        size_t namesize = strlen(name) + 1;

        fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino++, (unsigned)mode, 0u, 0u,
                S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
        fwrite(name, 1, namesize, f);
        fwrite(zeros, 1, (4 - (110 + namesize) % 4) % 4, f);
        if (size)
                fwrite(data, 1, size, f);
        fwrite(zeros, 1, (4 - size % 4) % 4, f);
}

static int make_initrd(const char *path)
{
        _cleanup_close_ int bb = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *busybox = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t bb_len;

        if (bb < 0 || fd_read_all(bb, &busybox, &bb_len, NULL) < 0)
                return -1;
        f = fopen(path, "we");
        if (!f)
                return -1;
        cpio_entry(f, "bin", S_IFDIR | 0755, NULL, 0);
        cpio_entry(f, "dev", S_IFDIR | 0755, NULL, 0);
        cpio_entry(f, "bin/busybox", S_IFREG | 0755, busybox, bb_len);
        cpio_entry(f, "bin/sh", S_IFLNK | 0777, "busybox", strlen("busybox"));
        cpio_entry(f, "init", S_IFREG | 0755, init_script, strlen(init_script));
        cpio_entry(f, "TRAILER!!!", 0, NULL, 0);
        return ferror(f) ? -1 : 0;
}

/* ---- VMs ---- */

static int64_t now_ms(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *path_in(const char *name, const char *suffix)
{
        return xasprintf("%s/%s%s", fixture.dir, name, suffix);
}

/* Starts a VM called name (its files are <dir>/<name>.*) and connects to its QMP socket. */
static void start_vm(const char *name, bool is_incoming, const char *disk, pid_t *ret_pid, VmQmp **ret_qmp)
{
        _cleanup_free_ char *qmp = path_in(name, ".qmp"), *con = path_in(name, ".con");
        _cleanup_free_ char *log = path_in(name, ".console.log"), *agents = path_in(name, ".agents");
        _cleanup_free_ char *qemu_log = path_in(name, ".qemu.log");
        _cleanup_close_ int log_fd = open(qemu_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        VmConfig cfg = {
                .accel = VM_ACCEL_TCG, .tsc_khz = fixture.tsc_khz, .memory = GUEST_MEMORY, .cpus = 1,
                .kernel = KERNEL, .initrd = fixture.initrd, .qmp_socket = qmp, .agent_socket_dir = agents,
                .console_socket = con, .console_log = log, .is_incoming = is_incoming, .disk = disk,
        };
        _cleanup_strv_ char **argv = vm_qemu_argv(&cfg);
        Error *e = NULL;
        pid_t pid;

        assert_true(log_fd >= 0);
        assert_int_equal(mkdir(agents, 0700), 0);
        assert_int_equal(vm_qemu_spawn(argv, log_fd, NULL, NULL, &pid, &e), 0);
        assert_true(fixture.n_pids < MAX_VMS);
        fixture.pids[fixture.n_pids++] = pid;
        if (vm_qmp_connect(qmp, 10000, ret_qmp, &e) < 0)
                fail_msg("qmp: %s", e->msg);
        /* QEMU made every boot agent port's socket before it answered on QMP. */
        for (int i = 0; i < VM_AGENT_BOOT_PORTS; i++) {
                _cleanup_free_ char *sock = xasprintf("%s/agent.%d.sock", agents, i);
                struct stat st;
                assert_int_equal(stat(sock, &st), 0);
                assert_true(S_ISSOCK(st.st_mode));
        }
        *ret_pid = pid;
}

/* Asks QEMU to quit and reaps it. */
static void quit_vm(VmQmp *q, pid_t pid)
{
        int status;

        assert_int_equal(vm_qmp_execute(q, "quit", NULL, 5000, NULL, NULL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        for (size_t i = 0; i < fixture.n_pids; i++)
                if (fixture.pids[i] == pid)
                        fixture.pids[i] = 0;
}

static void assert_status(VmQmp *q, const char *want)
{
        _cleanup_json_ json_t *ret = NULL;
        Error *e = NULL;

        if (vm_qmp_execute(q, "query-status", NULL, 5000, &ret, &e) < 0)
                fail_msg("query-status: %s", e->msg);
        assert_string_equal(json_string_value(json_object_get(ret, "status")), want);
}

/* The counts a console log holds: the lowest and the highest, -1 when none. */
static void log_counts(const char *name, long *ret_min, long *ret_max)
{
        _cleanup_free_ char *path = path_in(name, ".console.log"), *text = NULL;
        const char *p;

        *ret_min = *ret_max = -1;
        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
                return;
        for (p = text; (p = strstr(p, "count ")); p++) {
                char *end;
                long n = strtol(p + 6, &end, 10);
                if (end == p + 6 || (*end != '\r' && *end != '\n'))
                        continue; /* cut off by the save */
                if (*ret_min < 0 || n < *ret_min)
                        *ret_min = n;
                if (n > *ret_max)
                        *ret_max = n;
        }
}

/* Waits (by inotify on the log) until the VM's console printed a count above above. */
static void wait_count_above(const char *name, long above, int timeout_ms)
{
        _cleanup_free_ char *path = path_in(name, ".console.log");
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC);
        int64_t deadline = now_ms() + timeout_ms;
        long lo, hi;

        assert_true(in >= 0);
        assert_true(inotify_add_watch(in, path, IN_MODIFY) >= 0);
        for (;;) {
                struct pollfd p = { .fd = in, .events = POLLIN };
                char buf[4096];

                log_counts(name, &lo, &hi);
                if (hi > above)
                        return;
                if (now_ms() >= deadline)
                        fail_msg("%s: no count above %ld on the console within %d ms", name, above, timeout_ms);
                if (poll(&p, 1, (int)(deadline - now_ms())) > 0)
                        (void)!read(in, buf, sizeof(buf));
        }
}

static void send_file_fd(VmQmp *q, const char *name, const char *path, int flags)
{
        _cleanup_close_ int fd = open(path, flags | O_CLOEXEC, 0600);
        Error *e = NULL;

        assert_true(fd >= 0);
        if (vm_qmp_send_fd(q, name, fd, &e) < 0)
                fail_msg("getfd: %s", e->msg);
}

static void migrate_wait(VmQmp *q, const char *what)
{
        Error *e = NULL;
        if (vm_qmp_migrate_wait(q, 60000, NULL, &e) < 0)
                fail_msg("%s: %s", what, e->msg);
}

static void execute_ok(VmQmp *q, const char *command, json_t *args)
{
        Error *e = NULL;
        if (vm_qmp_execute(q, command, args, 10000, NULL, &e) < 0)
                fail_msg("%s: %s", command, e->msg);
}

/* ---- tests against QEMU ---- */

static void test_spawn_missing(void **state)
{
        char *const argv[] = { "hull-no-such-qemu", "-version", NULL };
        Error *e = NULL;
        pid_t pid = 0;

        assert_int_equal(vm_qemu_spawn(argv, -1, NULL, NULL, &pid, &e), -ENOENT);
        assert_non_null(strstr(e->msg, "qemu-system-x86"));
        assert_int_equal(pid, 0);
        error_free(e);
}

static int refuse(void *data)
{
        return -*(int *)data;
}

static void test_spawn_before_exec_fails(void **state)
{
        char *const argv[] = { "qemu-system-x86_64", "-version", NULL };
        int code = EPERM;
        Error *e = NULL;
        pid_t pid = 0;

        assert_int_equal(vm_qemu_spawn(argv, -1, refuse, &code, &pid, &e), -EPERM);
        assert_non_null(strstr(e->msg, "prepare the child"));
        error_free(e);
}

/* A qcow2 file made by qemu-img, for a VM's virtio-blk disk. */
static char *make_qcow2(const char *name)
{
        char *path = path_in(name, ".qcow2");
        char *const argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", path, "16M", NULL };
        int status;
        pid_t pid;

        assert_int_equal(vm_qemu_spawn(argv, -1, NULL, NULL, &pid, NULL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(status, 0);
        return path;
}

static void test_commands_and_events(void **state)
{
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_json_ json_t *ev = NULL, *blocks = NULL;
        _cleanup_free_ char *disk = make_qcow2("cmd");
        _cleanup_free_ char *blocks_text = NULL;
        Error *e = NULL;
        pid_t pid;

        start_vm("cmd", false, disk, &pid, &q);
        assert_status(q, "running");
        /* The disk is there as the argv described it. */
        assert_int_equal(vm_qmp_execute(q, "query-block", NULL, 5000, &blocks, &e), 0);
        blocks_text = json_dump_compact(blocks);
        assert_non_null(strstr(blocks_text, "\"device\":\"disk0\""));
        assert_non_null(strstr(blocks_text, disk));
        assert_non_null(strstr(blocks_text, "\"drv\":\"qcow2\""));

        /* QEMU's own words come back with EIO. */
        assert_int_equal(vm_qmp_execute(q, "hull-no-such-command", NULL, 5000, NULL, &e), -EIO);
        assert_non_null(strstr(e->msg, "The command hull-no-such-command has not been found"));
        e = error_free(e);
        assert_int_equal(vm_qmp_execute(q, "device_del", json_pack("{s:s}", "id", "nothing-here"), 5000, NULL, &e),
                         -EIO);
        assert_non_null(strstr(e->msg, "nothing-here"));
        e = error_free(e);

        /* An agent port hot-plugged as the driver does it: its socket appears and the device is there. */
        {
                _cleanup_free_ char *agents = path_in("cmd", ".agents");
                _cleanup_free_ char *sock = xasprintf("%s/agent.%d.sock", agents, VM_AGENT_BOOT_PORTS);
                _cleanup_free_ char *want = xasprintf("\"port%d\"", VM_AGENT_BOOT_PORTS);
                _cleanup_json_ json_t *list = NULL;
                _cleanup_free_ char *list_text = NULL;
                struct stat st;

                execute_ok(q, "chardev-add", vm_agent_port_chardev(agents, VM_AGENT_BOOT_PORTS));
                execute_ok(q, "device_add", vm_agent_port_device(VM_AGENT_BOOT_PORTS));
                assert_int_equal(stat(sock, &st), 0);
                assert_true(S_ISSOCK(st.st_mode));
                assert_int_equal(vm_qmp_execute(q, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), 5000,
                                                &list, &e),
                                 0);
                list_text = json_dump_compact(list);
                assert_non_null(strstr(list_text, want));
                /* The same port number twice is refused. */
                assert_int_equal(vm_qmp_execute(q, "device_add", vm_agent_port_device(VM_AGENT_BOOT_PORTS), 5000, NULL,
                                                &e),
                                 -EIO);
                e = error_free(e);
        }

        /* No event yet: a timeout. */
        assert_int_equal(vm_qmp_wait_event(q, "STOP", 50, NULL, &e), -ETIMEDOUT);
        e = error_free(e);
        execute_ok(q, "stop", NULL);
        assert_int_equal(vm_qmp_wait_event(q, "STOP", 5000, &ev, &e), 0);
        assert_string_equal(json_string_value(json_object_get(ev, "event")), "STOP");
        assert_non_null(json_object_get(ev, "timestamp"));
        assert_status(q, "paused");
        execute_ok(q, "cont", NULL);
        assert_int_equal(vm_qmp_wait_event(q, "RESUME", 5000, NULL, &e), 0);
        assert_status(q, "running");

        /* Once QEMU is gone: EPIPE. */
        quit_vm(q, pid);
        assert_int_equal(vm_qmp_execute(q, "query-status", NULL, 5000, NULL, &e), -EPIPE);
        error_free(e);
}

static void test_save_restore_migrate(void **state)
{
        _cleanup_(vm_qmp_freep) VmQmp *a = NULL, *b = NULL, *c = NULL;
        _cleanup_free_ char *state_path = path_in("state", ".bin");
        long lo, a_last, b_last;
        int64_t t0, t_save, t_restore;
        pid_t pa, pb, pc;
        int sv[2];
        struct stat st;

        /* A runs and prints its counter; its state goes to a file. */
        start_vm("a", false, NULL, &pa, &a);
        wait_count_above("a", 5, 30000);
        execute_ok(a, "stop", NULL);
        assert_int_equal(vm_qmp_wait_event(a, "STOP", 5000, NULL, NULL), 0);
        /* QEMU caps migration at 128 MiB/s by default: a save to a local file needs no cap. */
        execute_ok(a, "migrate-set-parameters", json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40));
        t0 = now_ms();
        send_file_fd(a, "state", state_path, O_WRONLY | O_CREAT | O_TRUNC);
        execute_ok(a, "migrate", json_pack("{s:s}", "uri", "fd:state"));
        migrate_wait(a, "save");
        t_save = now_ms() - t0;
        assert_int_equal(stat(state_path, &st), 0);
        assert_true(st.st_size > 0);
        log_counts("a", &lo, &a_last);
        quit_vm(a, pa);

        /* B restores it: the counter goes on from where A stopped rather than from 0. */
        start_vm("b", true, NULL, &pb, &b);
        t0 = now_ms();
        send_file_fd(b, "state", state_path, O_RDONLY);
        execute_ok(b, "migrate-incoming", json_pack("{s:s}", "uri", "fd:state"));
        migrate_wait(b, "restore");
        t_restore = now_ms() - t0;
        assert_status(b, "paused");
        execute_ok(b, "cont", NULL);
        wait_count_above("b", a_last + 3, 30000);
        log_counts("b", &lo, &b_last);
        assert_true(lo >= a_last);
        fprintf(stderr, "# %d MiB guest: save %lld ms (%lld bytes), restore %lld ms; counter %ld -> %ld\n",
                GUEST_MEMORY >> 20, (long long)t_save, (long long)st.st_size, (long long)t_restore, a_last, lo);

        /* Live migration B -> C over a socketpair passed to both. */
        start_vm("c", true, NULL, &pc, &c);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(vm_qmp_send_fd(c, "mig", sv[1], NULL), 0);
        assert_int_equal(vm_qmp_send_fd(b, "mig", sv[0], NULL), 0);
        close(sv[0]);
        close(sv[1]);
        execute_ok(c, "migrate-incoming", json_pack("{s:s}", "uri", "fd:mig"));
        execute_ok(b, "migrate-set-parameters", json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40));
        t0 = now_ms();
        execute_ok(b, "migrate", json_pack("{s:s}", "uri", "fd:mig"));
        migrate_wait(b, "live migration, source");
        migrate_wait(c, "live migration, destination");
        fprintf(stderr, "# live migration: %lld ms\n", (long long)(now_ms() - t0));
        assert_status(b, "postmigrate");
        /* C started by itself (no -S), its counter carries on from B's. */
        log_counts("b", &lo, &b_last);
        wait_count_above("c", b_last + 3, 30000);
        log_counts("c", &lo, &b_last);
        assert_true(lo > a_last);
        assert_status(c, "running");
        quit_vm(b, pb);
        quit_vm(c, pc);
}

/* ---- protocol edge cases against a scripted peer ---- */

static const char greeting[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
                               "{\"return\": {}, \"id\": 1}\r\n";

/* A client over a socketpair whose peer has already written script after the greeting. */
static VmQmp *scripted(const char *script, int *ret_peer)
{
        int sv[2];
        VmQmp *q = NULL;
        Error *e = NULL;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(fd_write_all(sv[1], greeting, strlen(greeting)), 0);
        assert_int_equal(fd_write_all(sv[1], script, strlen(script)), 0);
        if (vm_qmp_open_fd(sv[0], 1000, &q, &e) < 0)
                fail_msg("open: %s", e->msg);
        *ret_peer = sv[1];
        return q;
}

static void test_peer_events_and_stale_replies(void **state)
{
        int peer;
        _cleanup_(vm_qmp_freep) VmQmp *q = scripted("{\"event\": \"A\", \"data\": {\"n\": 1}}\r\n"
                                                   "\r\n"
                                                   "{\"return\": {\"stale\": true}, \"id\": 99}\r\n"
                                                   "{\"event\": \"B\"}\r\n"
                                                   "{\"return\": {\"status\": \"running\"}, \"id\": 2}\r\n"
                                                   "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no way\"}, "
                                                   "\"id\": 3}\r\n"
                                                   "{\"id\": 4}\r\n",
                                                   &peer);
        _cleanup_json_ json_t *ret = NULL, *ev = NULL;
        Error *e = NULL;

        assert_int_equal(vm_qmp_execute(q, "query-status", NULL, 1000, &ret, &e), 0);
        assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
        assert_int_equal(vm_qmp_execute(q, "x", NULL, 1000, NULL, &e), -EIO);
        assert_string_equal(e->msg, "'x': no way");
        e = error_free(e);
        assert_int_equal(vm_qmp_execute(q, "y", NULL, 1000, NULL, &e), -EPROTO);
        e = error_free(e);
        /* Events seen while waiting were kept, in order, each taken once. */
        assert_int_equal(vm_qmp_wait_event(q, "B", 0, NULL, &e), 0);
        assert_int_equal(vm_qmp_wait_event(q, "A", 0, &ev, &e), 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "n")), 1);
        assert_int_equal(vm_qmp_wait_event(q, "A", 10, NULL, &e), -ETIMEDOUT);
        e = error_free(e);
        close(peer);
        assert_int_equal(vm_qmp_wait_event(q, "A", 1000, NULL, &e), -EPIPE);
        error_free(e);
}

static void test_peer_garbage(void **state)
{
        int peer;
        _cleanup_(vm_qmp_freep) VmQmp *q = scripted("{\"return\": {}, \"id\": 2\r\n[1]\r\n", &peer);
        Error *e = NULL;

        assert_int_equal(vm_qmp_execute(q, "a", NULL, 1000, NULL, &e), -EPROTO);
        assert_non_null(strstr(e->msg, "not JSON"));
        e = error_free(e);
        assert_int_equal(vm_qmp_execute(q, "b", NULL, 1000, NULL, &e), -EPROTO);
        assert_non_null(strstr(e->msg, "not a JSON object"));
        e = error_free(e);
        close(peer);
}

static void test_peer_no_greeting(void **state)
{
        int sv[2];
        VmQmp *q = NULL;
        Error *e = NULL;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(fd_write_all(sv[1], "{\"hello\": 1}\n", 13), 0);
        assert_int_equal(vm_qmp_open_fd(sv[0], 1000, &q, &e), -EPROTO);
        e = error_free(e);
        /* Silence: a timeout, and the fd is still the caller's. */
        assert_int_equal(vm_qmp_open_fd(sv[0], 20, &q, &e), -ETIMEDOUT);
        error_free(e);
        assert_null(q);
        close(sv[0]);
        close(sv[1]);
}

static void test_peer_send_fd(void **state)
{
        int peer, fd_in = -1;
        _cleanup_(vm_qmp_freep) VmQmp *q = scripted("{\"return\": {}, \"id\": 2}\r\n", &peer);
        _cleanup_close_ int sent = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char buf[4096], control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof(control) };
        struct cmsghdr *c;
        ssize_t n;

        assert_int_equal(vm_qmp_send_fd(q, "x", sent, NULL), 0);
        /* What the peer got: the capabilities command, then getfd with the fd attached. */
        n = recvmsg(peer, &mh, MSG_CMSG_CLOEXEC);
        assert_true(n > 0);
        buf[n] = 0;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd_in, CMSG_DATA(c), sizeof(int));
        if (fd_in < 0) { /* the first read took only qmp_capabilities */
                mh.msg_controllen = sizeof(control);
                n = recvmsg(peer, &mh, MSG_CMSG_CLOEXEC);
                assert_true(n > 0);
                buf[n] = 0;
                for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                memcpy(&fd_in, CMSG_DATA(c), sizeof(int));
        }
        assert_true(fd_in >= 0);
        assert_true(fd_same_inode(fd_in, sent));
        assert_non_null(strstr(buf, "\"getfd\""));
        assert_non_null(strstr(buf, "\"fdname\":\"x\""));
        close(fd_in);
        close(peer);
}

static int teardown_vms(void **state)
{
        for (size_t i = 0; i < fixture.n_pids; i++)
                pid_killp(&fixture.pids[i]);
        fixture.n_pids = 0;
        return 0;
}

/* Why QEMU tests cannot run here, or NULL. */
static const char *qemu_missing(void)
{
        char *const argv[] = { "qemu-system-x86_64", "-version", NULL };
        pid_t pid;
        int status;

        if (access(KERNEL, R_OK) < 0)
                return "no " KERNEL " (linux-image-cloud-amd64)";
        if (access(BUSYBOX, X_OK) < 0)
                return "no " BUSYBOX " (busybox-static)";
        if (vm_qemu_spawn(argv, -1, NULL, NULL, &pid, NULL) < 0)
                return "no qemu-system-x86_64 (qemu-system-x86)";
        waitpid(pid, &status, 0);
        return NULL;
}

int main(void)
{
        const struct CMUnitTest protocol[] = {
                cmocka_unit_test(test_peer_events_and_stale_replies),
                cmocka_unit_test(test_peer_garbage),
                cmocka_unit_test(test_peer_no_greeting),
                cmocka_unit_test(test_peer_send_fd),
        };
        const struct CMUnitTest qemu[] = {
                cmocka_unit_test(test_spawn_missing),
                cmocka_unit_test(test_spawn_before_exec_fails),
                cmocka_unit_test_teardown(test_commands_and_events, teardown_vms),
                cmocka_unit_test_teardown(test_save_restore_migrate, teardown_vms),
        };
        const char *missing;
        int r;

        r = cmocka_run_group_tests_name("qmp protocol", protocol, NULL, NULL);
        if (r != 0)
                return r;
        missing = qemu_missing();
        if (missing) {
                fprintf(stderr, "skip: %s\n", missing);
                return 77;
        }
        snprintf(fixture.dir, sizeof(fixture.dir), "/tmp/hull-qmp-test.XXXXXX");
        if (!mkdtemp(fixture.dir))
                return 1;
        snprintf(fixture.initrd, sizeof(fixture.initrd), "%s/initrd.cpio", fixture.dir);
        if (make_initrd(fixture.initrd) < 0) {
                fprintf(stderr, "cannot make the initramfs\n");
                rm_rf_at(AT_FDCWD, fixture.dir, NULL);
                return 1;
        }
        fixture.tsc_khz = vm_tsc_khz();
        r = cmocka_run_group_tests_name("qmp with qemu", qemu, NULL, NULL);
        teardown_vms(NULL);
        rm_rf_at(AT_FDCWD, fixture.dir, NULL);
        return r;
}
