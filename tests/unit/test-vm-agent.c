/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-vm-agent.c: hull-agent as PID 1 of a real QEMU guest (TCG), driven through the host-side client */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/process.h"
#include "vm/agent-proto.h"
#include "vm/agent.h"

/* The ports the test guest has: more than a VM boots with, as after hot-plugs. */
#define TEST_PORTS 5
#include "vm/kernel.h"

#define BOOT_TIMEOUT_MS 60000
#define STEP_TIMEOUT_MS 20000

typedef struct Vm {
        char dir[64];
        char disk[128];
        char *initrd;
        VmKernel kernel;
        pid_t qemu;
        int pidfd;
} Vm;

static Vm vm = { .pidfd = -1 };

/* Runs argv to its end with stdout and stderr to /dev/null; its exit code, or -1. */
static int run(char *const argv[])
{
        pid_t pid = fork();
        int st;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 1);
                dup2(null, 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}

static bool in_path(const char *name)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
        return system(cmd) == 0;
}

static unsigned host_tsc_khz(void)
{
        char line[256];
        double mhz = 0;
        FILE *f = fopen("/proc/cpuinfo", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
                        break;
        fclose(f);
        return (unsigned)(mhz * 1000);
}

static void write_text(const char *dir, const char *name, const char *text)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, NULL), 0);
}

/* A busybox root file system with two users, as an ext4 image. */
static void make_disk(void)
{
        static const char *const links[] = { "sh", "echo", "cat", "sleep", "id", "tty", "pwd", "stat", "ip",
                                             "hostname", "ls", "seq", "stty", "true", "kill" };
        char root[128], path[256];
        int r;

        snprintf(root, sizeof(root), "%s/root", vm.dir);
        for (size_t i = 0; i < 4; i++) {
                static const char *const dirs[] = { "bin", "etc", "tmp", "home/alice" };
                snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir_p(path, 0755, NULL), 0);
        }
        snprintf(path, sizeof(path), "cp /bin/busybox %s/bin/busybox", root);
        assert_int_equal(system(path), 0);
        for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
                snprintf(path, sizeof(path), "%s/bin/%s", root, links[i]);
                assert_int_equal(symlink("busybox", path), 0);
        }
        write_text(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        write_text(root, "etc/group", "root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n");
        /* For system mode: busybox init as the image's init, with nothing to run but the agent. */
        snprintf(path, sizeof(path), "%s/sbin", root);
        assert_int_equal(mkdir_p(path, 0755, NULL), 0);
        snprintf(path, sizeof(path), "%s/sbin/init", root);
        assert_int_equal(symlink("../bin/busybox", path), 0);
        write_text(root, "etc/inittab", "::sysinit:/bin/true\n");
        snprintf(vm.disk, sizeof(vm.disk), "%s/disk.img", vm.dir);
        char *mkfs[] = { "mkfs.ext4", "-q", "-d", root, "-F", vm.disk, "64M", NULL };
        r = run(mkfs);
        assert_int_equal(r, 0);
}

static void start_qemu(const char *append_extra)
{
        char append[512], con[128], qlog[128], chardev[TEST_PORTS][160], port[TEST_PORTS][80], drive[192];
        char *argv[96];
        int n = 0;

        snprintf(append, sizeof(append),
                 "console=ttyS0 quiet loglevel=3 tsc_early_khz=%u panic=-1 reboot=t hull.ip=10.0.2.10/24 "
                 "hull.gw=10.0.2.1 hull.hostname=hulltest %s",
                 host_tsc_khz(), append_extra);
        snprintf(con, sizeof(con), "file,id=con,path=%s/console.log", vm.dir);
        snprintf(qlog, sizeof(qlog), "%s/qemu.log", vm.dir);
        snprintf(drive, sizeof(drive), "file=%s,if=none,id=d0,format=raw", vm.disk);
        const char *fixed[] = { "qemu-system-x86_64", "-M", "microvm,x-option-roms=off,pcie=off,rtc=on", "-accel",
                                "tcg", "-cpu", "max", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
                                "-display", "none", "-no-reboot", "-kernel", vm.kernel.path, "-initrd", vm.initrd,
                                "-append", append, "-chardev", con, "-serial", "chardev:con", "-drive", drive,
                                "-device", "virtio-blk-device,drive=d0", "-netdev", "hubport,id=n0,hubid=0",
                                "-device", "virtio-net-device,netdev=n0", "-device", "virtio-serial-device" };
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                argv[n++] = (char *)fixed[i];
        for (int i = 0; i < TEST_PORTS; i++) {
                snprintf(chardev[i], sizeof(chardev[i]), "socket,id=a%d,path=%s/agent.%d.sock,server=on,wait=off", i,
                         vm.dir, i);
                snprintf(port[i], sizeof(port[i]), "virtserialport,chardev=a%d,name=%s%d", i, VM_AGENT_PORT_NAME, i);
                argv[n++] = (char *)"-chardev";
                argv[n++] = chardev[i];
                argv[n++] = (char *)"-device";
                argv[n++] = port[i];
        }
        argv[n] = NULL;
        vm.qemu = fork();
        assert_true(vm.qemu >= 0);
        if (vm.qemu == 0) {
                int fd = open(qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(fd, 1);
                dup2(fd, 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        vm.pidfd = pidfd_open_pid(vm.qemu);
        assert_true(vm.pidfd >= 0);
}

static void dump_logs(void)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "tail -n 30 %s/console.log %s/qemu.log >&2", vm.dir, vm.dir);
        (void)!system(cmd);
}

/* True when QEMU exited within ms. */
static bool qemu_exits_within(int ms)
{
        struct pollfd p = { .fd = vm.pidfd, .events = POLLIN };

        if (vm.qemu <= 0)
                return true;
        if (poll(&p, 1, ms) != 1)
                return false;
        waitpid(vm.qemu, NULL, 0);
        vm.qemu = 0;
        close(vm.pidfd);
        vm.pidfd = -1;
        return true;
}

static void stop_qemu(void)
{
        if (vm.qemu > 0) {
                kill(vm.qemu, SIGKILL);
                qemu_exits_within(10000);
        }
}

static VmAgent *connect_port(int port)
{
        char path[128];
        VmAgent *a = NULL;
        Error *e = NULL;

        snprintf(path, sizeof(path), "%s/agent.%d.sock", vm.dir, port);
        if (vm_agent_connect(path, 10000, &a, &e) < 0)
                fail_msg("connect port %d: %s", port, e->msg);
        return a;
}

/* The result of one EXEC carried to its end. */
typedef struct Result {
        int r;
        int status;
        char out[4096], err[4096];
        char *msg;
} Result;

static void read_memfd(int fd, char *buf, size_t cap)
{
        ssize_t n = pread(fd, buf, cap - 1, 0);

        buf[n > 0 ? n : 0] = 0;
}

/* Runs req on port, feeding it input (NULL: none), with signals from sig_fd (-1: none). */
static void exec_on(int port, const VmExecRequest *req, const char *input, int sig_fd, int timeout_ms, Result *res)
{
        _cleanup_(vm_agent_freep) VmAgent *a = connect_port(port);
        _cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
        int in[2] = { -1, -1 };
        Error *e = NULL;
        pid_t pid;

        memset(res, 0, sizeof(*res));
        res->r = vm_agent_exec(a, req, timeout_ms, &pid, &e);
        if (res->r < 0) {
                res->msg = xstrdup(e->msg);
                error_free(e);
                return;
        }
        assert_true(pid > 1);
        if (input) {
                assert_int_equal(pipe2(in, O_CLOEXEC), 0);
                assert_int_equal(fd_write_all(in[1], input, strlen(input)), 0);
                close(in[1]);
        }
        VmAgentIo io = { .in_fd = in[0], .out_fd = out, .err_fd = err, .sig_fd = sig_fd };
        res->r = vm_agent_pump(a, &io, &res->status, &e);
        if (in[0] >= 0)
                close(in[0]);
        if (res->r < 0) {
                res->msg = xstrdup(e->msg);
                error_free(e);
        }
        read_memfd(out, res->out, sizeof(res->out));
        read_memfd(err, res->err, sizeof(res->err));
}

static void run_ok(const VmExecRequest *req, const char *input, Result *res)
{
        exec_on(1, req, input, -1, STEP_TIMEOUT_MS, res);
        if (res->r < 0) {
                dump_logs();
                fail_msg("exec '%s': %s", req->args[0], res->msg);
        }
}

static void test_boot_and_echo(void **state)
{
        char *args[] = { "echo", "hello", NULL };
        VmExecRequest req = { .args = args };
        Result res;

        /* The first request waits for the boot: QEMU's socket holds it until the agent opens the port. */
        exec_on(1, &req, NULL, -1, BOOT_TIMEOUT_MS, &res);
        if (res.r < 0) {
                dump_logs();
                fail_msg("first exec: %s", res.msg);
        }
        assert_int_equal(res.status, 0);
        assert_string_equal(res.out, "hello\n");
        assert_string_equal(res.err, "");
}

static void test_streams_and_status(void **state)
{
        char *args[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        VmExecRequest req = { .args = args };
        Result res;

        run_ok(&req, NULL, &res);
        assert_int_equal(res.status, 3);
        assert_string_equal(res.out, "out\n");
        assert_string_equal(res.err, "err\n");
}

static void test_missing_command(void **state)
{
        char *args[] = { "no-such-command", NULL };
        VmExecRequest req = { .args = args };
        Result res;

        exec_on(1, &req, NULL, -1, STEP_TIMEOUT_MS, &res);
        assert_int_equal(res.r, -ENOENT);
        assert_non_null(strstr(res.msg, "no-such-command"));
        free(res.msg);
}

static void test_stdin_env_cwd_user(void **state)
{
        char *cat[] = { "cat", NULL };
        char *pwd[] = { "sh", "-c", "pwd; echo $HOME $FOO; echo $PATH", NULL };
        char *id[] = { "sh", "-c", "id -u; id -G; echo $HOME", NULL };
        char *env[] = { "FOO=bar", NULL };
        VmExecRequest req = { .args = cat };
        Result res;

        run_ok(&req, "line one\nline two\n", &res);
        assert_int_equal(res.status, 0);
        assert_string_equal(res.out, "line one\nline two\n");

        req = (VmExecRequest){ .args = pwd, .env = env, .cwd = "/tmp" };
        run_ok(&req, NULL, &res);
        assert_string_equal(res.out, "/tmp\n/root bar\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");

        req = (VmExecRequest){ .args = id, .user = "alice" };
        run_ok(&req, NULL, &res);
        assert_string_equal(res.out, "1000\n1000 50\n/home/alice\n");

        req = (VmExecRequest){ .args = id, .user = "4242:50" };
        run_ok(&req, NULL, &res);
        assert_string_equal(res.out, "4242\n50\n/\n");
}

static void test_unknown_user(void **state)
{
        char *args[] = { "id", NULL };
        VmExecRequest req = { .args = args, .user = "nobody-here" };
        Result res;

        exec_on(1, &req, NULL, -1, STEP_TIMEOUT_MS, &res);
        if (res.r != -EINVAL)
                dump_logs();
        assert_int_equal(res.r, -EINVAL);
        assert_non_null(strstr(res.msg, "nobody-here"));
        free(res.msg);
}

static void test_tty(void **state)
{
        char *args[] = { "sh", "-c", "tty; stty size; echo $TERM", NULL };
        VmExecRequest req = { .args = args, .is_tty = true, .rows = 30, .cols = 100 };
        Result res;

        run_ok(&req, NULL, &res);
        assert_int_equal(res.status, 0);
        assert_true(strncmp(res.out, "/dev/pts/", 9) == 0);
        assert_non_null(strstr(res.out, "30 100\r\n"));
        assert_non_null(strstr(res.out, "xterm\r\n"));
}

static void test_signal_through_pump(void **state)
{
        char *args[] = { "sleep", "100", NULL };
        VmExecRequest req = { .args = args };
        sigset_t set, old;
        Result res;
        int sfd;

        /* SIGTERM raised here goes, through the pump's signalfd, to the guest's process. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
        sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        assert_true(sfd >= 0);
        assert_int_equal(kill(getpid(), SIGTERM), 0);
        exec_on(1, &req, NULL, sfd, STEP_TIMEOUT_MS, &res);
        close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.status, 128 + SIGTERM);
}

/* Port 0 spoken to directly in frames, to disconnect in the middle of a session. */
static int raw_connect(int port)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.%d.sock", vm.dir, port);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

/* Reads frames until a STDOUT line holding a number; returns it (-1 at EXIT, status in *ret_status). */
static long next_count(int fd, VmFrame *f, int *ret_status)
{
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                assert_int_equal(poll(&p, 1, STEP_TIMEOUT_MS), 1);
                assert_int_equal(vm_frame_read(fd, f), 0);
                if (f->type == VM_FRAME_EXIT) {
                        *ret_status = (int)vm_get_u32(f->data);
                        return -1;
                }
                if (f->type == VM_FRAME_STDOUT && f->len > 0) {
                        f->data[f->len < VM_FRAME_MAX ? f->len : VM_FRAME_MAX - 1] = 0;
                        char *last = strrchr((char *)f->data, '\n');
                        if (last)
                                *last = 0;
                        last = strrchr((char *)f->data, '\n');
                        return strtol(last ? last + 1 : (char *)f->data, NULL, 10);
                }
        }
}

static void test_main_process_and_reconnect(void **state)
{
        _cleanup_free_ VmFrame *f = xnew0(VmFrame, 1);
        _cleanup_free_ uint8_t *buf = xmalloc(1024);
        char *echo[] = { "echo", "beside", NULL };
        VmExecRequest req = { .args = echo };
        size_t len = 0;
        long before = 0, after;
        int fd, status = -1;
        Result res;
        Error *e = NULL;

        vm_records_add(buf, 1024, &len, "arg", "sh");
        vm_records_add(buf, 1024, &len, "arg", "-c");
        vm_records_add(buf, 1024, &len, "arg", "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done");
        vm_records_add(buf, 1024, &len, "main", "1");
        fd = raw_connect(0);
        assert_int_equal(vm_frame_write(fd, VM_FRAME_EXEC, buf, len), 0);
        assert_int_equal(vm_frame_read(fd, f), 0);
        assert_int_equal(f->type, VM_FRAME_STARTED);
        while (before < 3)
                before = next_count(fd, f, &status);

        /* Another port serves while the main process runs. */
        run_ok(&req, NULL, &res);
        assert_string_equal(res.out, "beside\n");

        /* The host goes away; the process goes on, its output held for the next host. */
        before = next_count(fd, f, &status);
        close(fd);
        usleep(1500 * 1000);
        fd = raw_connect(0);
        after = next_count(fd, f, &status);
        assert_true(after > before);
        for (int i = 0; i < 3; i++) {
                long next = next_count(fd, f, &status);
                assert_true(next > after);
                after = next;
        }

        /* A signal from a control port reaches the main process. */
        VmAgent *ctl = connect_port(2);
        if (vm_agent_signal(ctl, SIGTERM, &e) < 0)
                fail_msg("signal: %s", e->msg);
        vm_agent_free(ctl);
        while (next_count(fd, f, &status) >= 0)
                ;
        assert_int_equal(status, 128 + SIGTERM);
        close(fd);

        /* Without a main process, the signal has nowhere to go. */
        ctl = connect_port(2);
        assert_int_equal(vm_agent_signal(ctl, SIGTERM, &e), -ESRCH);
        error_free(e);
        vm_agent_free(ctl);
}

static void test_hangup_on_disconnect(void **state)
{
        _cleanup_free_ VmFrame *f = xnew0(VmFrame, 1);
        uint8_t buf[64];
        char script[256];
        char *args[] = { "sh", "-c", script, NULL };
        VmExecRequest req = { .args = args };
        size_t len = 0;
        pid_t pid;
        Result res;
        int fd;

        /* A host that leaves a port other than 0 hangs its process up; the agent reaps it. */
        vm_records_add(buf, sizeof(buf), &len, "arg", "sleep");
        vm_records_add(buf, sizeof(buf), &len, "arg", "100");
        fd = raw_connect(1);
        assert_int_equal(vm_frame_write(fd, VM_FRAME_EXEC, buf, len), 0);
        assert_int_equal(vm_frame_read(fd, f), 0);
        assert_int_equal(f->type, VM_FRAME_STARTED);
        pid = (pid_t)vm_get_u32(f->data);
        close(fd);
        snprintf(script, sizeof(script), "for i in $(seq 50); do kill -0 %d 2>/dev/null || break; sleep 0.1; done; "
                 "kill -0 %d 2>/dev/null && echo alive || echo gone", (int)pid, (int)pid);
        exec_on(2, &req, NULL, -1, STEP_TIMEOUT_MS, &res);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.out, "gone\n");
}

static void test_detached(void **state)
{
        _cleanup_(vm_agent_freep) VmAgent *a = connect_port(2);
        char *bg[] = { "sh", "-c", "echo not-here; sleep 1; echo ran > /tmp/detached; sleep 100", NULL };
        char *missing[] = { "no-such-command", NULL };
        char script[256];
        char *check[] = { "sh", "-c", script, NULL };
        VmExecRequest req = { .args = bg, .is_detached = true };
        Error *e = NULL;
        pid_t pid;
        Result res;

        /* STARTED, then nothing: the same connection takes the next request at once. */
        assert_int_equal(vm_agent_exec(a, &req, STEP_TIMEOUT_MS, &pid, &e), 0);
        assert_true(pid > 1);
        req = (VmExecRequest){ .args = missing, .is_detached = true };
        assert_int_equal(vm_agent_exec(a, &req, STEP_TIMEOUT_MS, NULL, &e), -ENOENT);
        e = error_free(e);
        /* Leaving the port does not hang it up; its stdio is /dev/null; the agent reaps it once killed. */
        a = vm_agent_free(a);
        snprintf(script, sizeof(script),
                 "for i in $(seq 100); do [ -e /tmp/detached ] && break; sleep 0.1; done; cat /tmp/detached; "
                 "readlink /proc/%d/fd/1; kill %d; for i in $(seq 50); do [ -e /proc/%d ] || break; sleep 0.1; done; "
                 "[ -e /proc/%d ] && echo left || echo reaped",
                 (int)pid, (int)pid, (int)pid, (int)pid);
        req = (VmExecRequest){ .args = check };
        run_ok(&req, NULL, &res);
        assert_string_equal(res.out, "ran\n/dev/null\nreaped\n");
}

static void test_file_and_netconf(void **state)
{
        char *cat[] = { "sh", "-c", "cat /etc/hull-test/x.conf; stat -c %a /etc/hull-test/x.conf", NULL };
        char *ip[] = { "sh", "-c", "hostname; ip -4 addr show eth0; ip route", NULL };
        VmAgent *a = connect_port(3);
        Error *e = NULL;
        Result res;

        if (vm_agent_write_file(a, "/etc/hull-test/x.conf", 0640, "hello\0world", 11, &e) < 0)
                fail_msg("write file: %s", e->msg);
        VmExecRequest req = { .args = cat };
        run_ok(&req, NULL, &res);
        assert_memory_equal(res.out, "hello\0world640\n", 16);

        /* The boot parameters first, then NETCONF replacing them. */
        req = (VmExecRequest){ .args = ip };
        run_ok(&req, NULL, &res);
        assert_non_null(strstr(res.out, "hulltest\n"));
        assert_non_null(strstr(res.out, "inet 10.0.2.10/24"));
        assert_non_null(strstr(res.out, "default via 10.0.2.1"));
        if (vm_agent_netconf(a, "192.168.77.5/16", "192.168.0.1", 1400, &e) < 0)
                fail_msg("netconf: %s", e->msg);
        run_ok(&req, NULL, &res);
        assert_non_null(strstr(res.out, "mtu 1400"));
        assert_non_null(strstr(res.out, "inet 192.168.77.5/16"));
        assert_null(strstr(res.out, "10.0.2.10"));
        assert_non_null(strstr(res.out, "default via 192.168.0.1"));
        assert_null(strstr(res.out, "via 10.0.2.1"));
        assert_int_equal(vm_agent_netconf(a, "300.1.1.1/8", NULL, 0, &e), -EINVAL);
        error_free(e);
        vm_agent_free(a);
}

static void test_poweroff(void **state)
{
        VmAgent *a = connect_port(4);
        Error *e = NULL;

        if (vm_agent_poweroff(a, 3, &e) < 0)
                fail_msg("poweroff: %s", e->msg);
        vm_agent_free(a);
        if (!qemu_exits_within(10000)) {
                dump_logs();
                fail_msg("QEMU still runs 10 s after POWEROFF");
        }
}

static void test_exec_then_poweroff(void **state)
{
        char *args[] = { "echo", "bye", NULL };
        VmExecRequest req = { .args = args, .is_main = true, .then_poweroff = true };
        Result res;

        start_qemu("");
        exec_on(0, &req, NULL, -1, BOOT_TIMEOUT_MS, &res);
        if (res.r < 0) {
                dump_logs();
                fail_msg("exec: %s", res.msg);
        }
        assert_int_equal(res.status, 0);
        assert_string_equal(res.out, "bye\n");
        if (!qemu_exits_within(15000)) {
                dump_logs();
                fail_msg("QEMU still runs 15 s after EXIT with then=poweroff");
        }
}

static void test_system_mode(void **state)
{
        char *args[] = { "cat", "/proc/1/comm", NULL };
        VmExecRequest req = { .args = args };
        Result res;
        Error *e = NULL;

        /* PID 1 is the image's init; a child of the agent serves, and POWEROFF goes through init. */
        start_qemu("hull.mode=system");
        exec_on(1, &req, NULL, -1, BOOT_TIMEOUT_MS, &res);
        if (res.r < 0) {
                dump_logs();
                fail_msg("exec: %s", res.msg);
        }
        assert_string_equal(res.out, "init\n");
        VmAgent *a = connect_port(4);
        if (vm_agent_poweroff(a, 3, &e) < 0)
                fail_msg("poweroff: %s", e->msg);
        vm_agent_free(a);
        if (!qemu_exits_within(15000)) {
                dump_logs();
                fail_msg("QEMU still runs 15 s after POWEROFF in system mode");
        }
}

/* The names of a newc archive in order, each followed by '\n', and the data of one of them. */
static char *cpio_names(const char *data, size_t len, const char *want, char **ret_data)
{
        char *names = xstrdup("");
        size_t pos = 0;

        while (pos + 110 <= len) {
                char field[9] = "";
                unsigned long fsize, nsize;
                assert_memory_equal(data + pos, "070701", 6);
                memcpy(field, data + pos + 6 + 6 * 8, 8);
                fsize = strtoul(field, NULL, 16);
                memcpy(field, data + pos + 6 + 11 * 8, 8);
                nsize = strtoul(field, NULL, 16);
                const char *name = data + pos + 110;
                size_t body = (pos + 110 + nsize + 3) & ~(size_t)3;
                if (strcmp(name, "TRAILER!!!") == 0)
                        break;
                char *n2 = xasprintf("%s%s\n", names, name);
                free(names);
                names = n2;
                if (want && strcmp(name, want) == 0)
                        *ret_data = xstrndup(data + body, fsize);
                pos = (body + fsize + 3) & ~(size_t)3;
        }
        return names;
}

static void test_initramfs(void **state)
{
        _cleanup_free_ char *data = NULL, *names = NULL, *load = NULL, *again = NULL;
        struct stat st1, st2;
        Error *e = NULL;
        size_t len;
        char bogus[128], cache[128];

        assert_non_null(strstr(vm.kernel.release, "-amd64"));
        assert_int_equal(read_file_at(AT_FDCWD, vm.initrd, &data, &len, NULL), 0);
        names = cpio_names(data, len, "lib/modules/hull.load", &load);
        assert_true(strncmp(names, ".\n", 2) == 0);
        assert_non_null(strstr(names, "\ninit\n"));
        for (size_t i = 0; i < 5; i++) {
                static const char *const dirs[] = { "dev\n", "proc\n", "sys\n", "newroot\n", "lib/modules/hull.load\n" };
                assert_non_null(strstr(names, dirs[i]));
        }
        /* Dependencies first, each once: virtio and virtio_ring before the drivers that need them. */
        assert_non_null(load);
        const char *virtio = strstr(load, "/virtio.ko\n"), *ring = strstr(load, "/virtio_ring.ko\n");
        const char *mmio = strstr(load, "/virtio_mmio.ko\n"), *blk = strstr(load, "/virtio_blk.ko\n");
        const char *net = strstr(load, "/virtio_net.ko\n"), *fo = strstr(load, "/failover.ko\n");
        if (vm.kernel.modules_dir) {
                assert_non_null(mmio);
                assert_non_null(virtio);
                assert_non_null(ring);
                assert_non_null(blk);
                assert_true(virtio < mmio && ring < mmio && virtio < blk);
                assert_null(strstr(virtio + 1, "/virtio.ko\n"));
                if (net && fo)
                        assert_true(fo < net);
                assert_non_null(strstr(names, "lib/modules/virtio_console.ko\n"));
        }
        /* Found in the cache the second time, not rebuilt. */
        snprintf(cache, sizeof(cache), "%s/cache", vm.dir);
        assert_int_equal(stat(vm.initrd, &st1), 0);
        assert_int_equal(vm_initramfs_get(&vm.kernel, HULL_AGENT_BUILD_PATH, cache, &again, NULL), 0);
        assert_string_equal(again, vm.initrd);
        assert_int_equal(stat(again, &st2), 0);
        assert_int_equal(st1.st_ino, st2.st_ino);

        /* The key is taken from the release's stamp while the agent is unchanged; an agent changed in place
         * (same path, a new inode and change time) gets an initramfs of its own, and one that is gone again is
         * built anew rather than taken from a stale stamp. */
        {
                _cleanup_free_ char *agent = xasprintf("%s/agent", vm.dir), *stamp = NULL, *first = NULL,
                                    *second = NULL, *third = NULL, *bin = NULL;
                size_t bin_len;
                assert_int_equal(read_file_at(AT_FDCWD, HULL_AGENT_BUILD_PATH, &bin, &bin_len, NULL), 0);
                assert_int_equal(write_file_atomic_at(AT_FDCWD, agent, bin, bin_len, 0755, NULL), 0);
                assert_int_equal(vm_initramfs_get(&vm.kernel, agent, cache, &first, NULL), 0);
                assert_string_equal(first, vm.initrd); /* the same bytes: the same key */
                stamp = xasprintf("%s/initramfs-%s.stamp", cache, vm.kernel.release);
                assert_int_equal(access(stamp, F_OK), 0);
                bin[bin_len - 1] ^= 1;
                assert_int_equal(write_file_atomic_at(AT_FDCWD, agent, bin, bin_len, 0755, NULL), 0);
                assert_int_equal(vm_initramfs_get(&vm.kernel, agent, cache, &second, NULL), 0);
                assert_string_not_equal(second, first);
                assert_int_equal(unlink(second), 0);
                assert_int_equal(vm_initramfs_get(&vm.kernel, agent, cache, &third, NULL), 0);
                assert_string_equal(third, second);
                assert_int_equal(access(third, F_OK), 0);
                assert_int_equal(unlink(third), 0);
        }

        /* A file that is no bzImage is refused. */
        VmKernel k = { 0 };
        snprintf(bogus, sizeof(bogus), "%s/bogus", vm.dir);
        write_text(vm.dir, "bogus", "not a kernel");
        assert_int_equal(vm_kernel_find(bogus, &k, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "bzImage"));
        error_free(e);
}

static int group_setup(void **state)
{
        Error *e = NULL;
        char cache[128];

        snprintf(vm.dir, sizeof(vm.dir), "/tmp/hull-vm-agent.XXXXXX");
        if (!mkdtemp(vm.dir))
                return -1;
        if (vm_kernel_find(NULL, &vm.kernel, &e) < 0) {
                fprintf(stderr, "kernel: %s\n", e->msg);
                return -1;
        }
        snprintf(cache, sizeof(cache), "%s/cache", vm.dir);
        if (vm_initramfs_get(&vm.kernel, HULL_AGENT_BUILD_PATH, cache, &vm.initrd, &e) < 0) {
                fprintf(stderr, "initramfs: %s\n", e->msg);
                return -1;
        }
        make_disk();
        start_qemu("");
        return 0;
}

static int group_teardown(void **state)
{
        stop_qemu();
        vm_kernel_done(&vm.kernel);
        free(vm.initrd);
        rm_rf_at(AT_FDCWD, vm.dir, NULL);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_initramfs),
                cmocka_unit_test(test_boot_and_echo),
                cmocka_unit_test(test_streams_and_status),
                cmocka_unit_test(test_missing_command),
                cmocka_unit_test(test_stdin_env_cwd_user),
                cmocka_unit_test(test_unknown_user),
                cmocka_unit_test(test_tty),
                cmocka_unit_test(test_signal_through_pump),
                cmocka_unit_test(test_main_process_and_reconnect),
                cmocka_unit_test(test_hangup_on_disconnect),
                cmocka_unit_test(test_detached),
                cmocka_unit_test(test_file_and_netconf),
                cmocka_unit_test(test_poweroff),
                cmocka_unit_test(test_exec_then_poweroff),
                cmocka_unit_test(test_system_mode),
        };
        VmKernel k = { 0 };

        if (!in_path("qemu-system-x86_64") || !in_path("mkfs.ext4") || access("/bin/busybox", X_OK) != 0) {
                printf("1..0 # SKIP needs qemu-system-x86_64, mkfs.ext4 and /bin/busybox (busybox-static)\n");
                return 77;
        }
        if (vm_kernel_find(NULL, &k, NULL) < 0) {
                printf("1..0 # SKIP no guest kernel in /boot (linux-image-cloud-amd64)\n");
                return 77;
        }
        vm_kernel_done(&k);
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
