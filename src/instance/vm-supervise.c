/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vm-supervise.c: a VM's supervisor: it starts the main process through the agent and carries its output */
/*
 * One process supervises a running VM: the caller of `hull run` in the foreground, or a forked child
 * under hull-monitor when detached (the same monitor, log format and exit file as a container's). It
 * sends the guest its /etc files, starts the main process on port 0 and pumps its streams until its
 * exit status comes back (a system VM: its console, until QEMU ends). While a restore replaces QEMU it
 * waits for the new one, then goes on with the same session.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/process.h"
#include "internal.h"
#include "vm/agent.h"
#include "vm_internal.h"

/* Sends the guest its /etc/hosts, /etc/hostname and /etc/resolv.conf, as a container gets them: all in
 * one round trip, the first request of a boot, so its answer may wait for the whole boot. */
static int send_etc_files(InstContext *c, const InstRecord *rec, VmAgent *a, Error **err)
{
        _cleanup_(inst_lease_done) InstLease lease = {};
        _cleanup_free_ char *hosts = NULL;
        char *text[3] = {};
        static const char *const names[] = { "hosts", "hostname", "resolv.conf" };
        static const char *const guest[] = { "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" };
        VmAgentFile files[3];
        size_t n = 0;
        int r;

        r = inst_db_lease_find(c->db, rec->id, &lease, NULL);
        hosts = r > 0 ? xasprintf("%s/networks/%s/hosts", c->root, lease.network) : inst_path(c, rec->id, "hosts");
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *path = i == 0 ? xstrdup(hosts) : inst_path(c, rec->id, names[i]);
                size_t len = 0;
                /* /etc/hosts always goes (empty when there is none); the others only when they exist. */
                if (read_file_at(AT_FDCWD, path, &text[i], &len, NULL) < 0 && i > 0)
                        continue;
                files[n++] = (VmAgentFile){ .path = guest[i], .mode = 0644, .data = text[i] ? text[i] : "", .len = len };
        }
        r = vm_agent_write_files(a, files, n, INST_VM_BOOT_TIMEOUT_MS, err);
        for (size_t i = 0; i < ARRAY_SIZE(text); i++)
                free(text[i]);
        return r;
}

/* Copies what the console printed from offset on to out_fd, without the '\r' of the guest's line ends;
 * returns the new offset. */
static off_t copy_console(int log_fd, off_t offset, int out_fd)
{
        char buf[16384], clean[16384];
        ssize_t n;

        while ((n = pread(log_fd, buf, sizeof(buf), offset)) > 0) {
                size_t m = 0;
                offset += n;
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] != '\r')
                                clean[m++] = buf[i];
                if (out_fd >= 0 && m > 0)
                        (void)fd_write_all(out_fd, clean, m);
        }
        return offset;
}

/*
 * A system VM's output is its serial console: QEMU writes it to console.log (and to `hull console`'s
 * socket, which this leaves alone). Follows that file from where this boot began until QEMU is gone,
 * and writes what comes to out_fd, the monitor's stdout pipe.
 */
static void follow_console(InstContext *c, const InstRecord *rec, int out_fd, off_t *offset_io)
{
        _cleanup_free_ char *path = inst_path(c, rec->id, "console.log"),
                            *start_path = inst_vm_rundir_path(c, rec->id, "console.start"), *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = inst_vm_qemu_pid(c, rec->id);
        off_t offset = *offset_io;
        size_t len;

        /* After a restore the new QEMU appends to the same file: this goes on from where it was. */
        if (offset < 0 && read_file_at(AT_FDCWD, start_path, &text, &len, NULL) >= 0)
                offset = (off_t)strtoll(text, NULL, 10);
        for (int i = 0; fd < 0 && pid > 0 && i < 100; i++) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 && !inst_wait_gone(pid, 20))
                        continue;
        }
        if (fd >= 0 && offset < 0)
                offset = lseek(fd, 0, SEEK_END); /* a resumed VM: what came before is logged already */
        while (pid > 0) {
                bool is_gone = inst_wait_gone(pid, 100);
                if (fd >= 0)
                        offset = copy_console(fd, offset, out_fd);
                if (is_gone)
                        break;
        }
        *offset_io = offset;
}

/* Tells whoever waits for the start how it went: "0", or "1" and the message. */
static void report_ready(int fd, int r, Error *e)
{
        if (fd < 0)
                return;
        if (r >= 0) {
                (void)!write(fd, "0", 1);
        } else {
                _cleanup_free_ char *msg = xasprintf("1%s", error_message(e, r));
                (void)!write(fd, msg, strlen(msg));
        }
}

int inst_vm_supervise(InstContext *c, InstRecord *rec, const InstVmSpec *s, const VmAgentIo *io, bool is_resume,
                      int ready_fd, int *ret_status, Error **err)
{
        bool is_started = is_resume, is_reported = false;
        off_t console_offset = -1;
        int status = 137, r;

        for (;;) {
                _cleanup_(vm_agent_freep) VmAgent *a = NULL;
                r = inst_vm_connect_port(c, rec, 0, INST_VM_BOOT_TIMEOUT_MS, &a, err);
                if (r < 0) {
                        if (!is_reported)
                                report_ready(ready_fd, r, err ? *err : NULL);
                        break;
                }
                if (is_started && !is_reported) {
                        /* Resumed: the guest's session goes on; nothing to start. */
                        report_ready(ready_fd, 0, NULL);
                        is_reported = true;
                }
                if (!is_started) {
                        r = send_etc_files(c, rec, a, err);
                        if (r >= 0 && !s->is_system) {
                                VmExecRequest req = {
                                        .args = s->args,
                                        .env = s->env,
                                        .cwd = s->cwd,
                                        .user = s->user,
                                        .is_main = true,
                                        .then_poweroff = true,
                                };
                                r = vm_agent_exec(a, &req, INST_VM_BOOT_TIMEOUT_MS, NULL, err);
                        }
                        report_ready(ready_fd, r, err ? *err : NULL);
                        is_reported = true;
                        if (r < 0)
                                break;
                        is_started = true;
                }
                if (s->is_system) {
                        /* The guest's init runs on its own: the VM ends when QEMU does. Its console is its
                         * output, carried to the log as a container's. */
                        follow_console(c, rec, io->out_fd, &console_offset);
                        status = 0;
                        r = -EPIPE;
                } else {
                        r = vm_agent_pump(a, io, &status, NULL);
                }
                if (r >= 0)
                        break;
                /* The connection ended: QEMU went away. A restore puts a new one in its place. */
                while (inst_vm_is_restoring(c, rec->id)) {
                        waitpid(-1, NULL, WNOHANG); /* the old QEMU, when it was ours */
                        usleep(20000);
                }
                if (inst_vm_qemu_pid(c, rec->id) == 0) {
                        r = 0;
                        break;
                }
        }
        /* Once the main process ended, the agent powers the guest off and QEMU exits. A VM run with --rm is
         * ended at once instead, as a container's other processes are when its main one exits: its disk
         * goes with it, so the guest has nothing to sync or unmount. After a failure (a guest that never
         * answered) nothing is waited for. */
        {
                pid_t pid = inst_vm_qemu_pid(c, rec->id);
                bool is_powering_off = r >= 0 && !rec->is_auto_remove;
                if (pid > 0 && (!is_powering_off || !inst_wait_gone(pid, 30000)))
                        inst_vm_kill_qemu(c, rec->id);
        }
        inst_vm_release_runtime(c, rec->id);
        if (r < 0)
                return r;
        *ret_status = status;
        return 0;
}

/*
 * The detached supervisor: forked, it boots the VM and carries the main process's output into pipes
 * that hull-monitor reads (the same monitor, log format and exit file as a container's). Its exit
 * status is the guest process's.
 */
_noreturn_ static void supervisor(InstContext *c, InstRecord *rec, const InstVmSpec *s, bool is_resume, int out_fd,
                                  int err_fd, int ready_fd)
{
        Error *e = NULL;
        VmAgentIo io = { .in_fd = -1, .out_fd = out_fd, .err_fd = err_fd, .sig_fd = -1 };
        pid_t pid;
        int status = 137, r = 0;

        signal(SIGPIPE, SIG_IGN);
        if (!is_resume || inst_vm_qemu_pid(c, rec->id) == 0)
                r = inst_vm_boot(c, rec, s, false, &pid, &e);
        if (r < 0) {
                report_ready(ready_fd, r, e);
                _exit(125);
        }
        r = inst_vm_supervise(c, rec, s, &io, is_resume, ready_fd, &status, &e);
        if (r < 0 && is_resume)
                report_ready(ready_fd, r, e);
        _exit(r < 0 ? 125 : status);
}

int inst_vm_start_supervised(InstContext *c, InstRecord *rec, bool is_resume, Error **err)
{
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_free_ char *monitor = inst_helper_path(c, "hull-monitor", "HULL_MONITOR"),
                            *exit_path = inst_path(c, rec->id, "exit");
        int ready[2] = { -1, -1 };
        char msg[2048];
        ssize_t n;
        pid_t child;
        int r;

        if (access(monitor, X_OK) < 0)
                return error_set(err, errno, "monitor '%s'", monitor);
        if (is_resume) {
                r = inst_vm_spec_load(c, rec->id, &s, err);
                if (r >= 0)
                        unlink(exit_path);
        } else {
                r = inst_vm_prepare_start(c, rec, &s, err);
        }
        if (r < 0)
                return r;
        if (pipe2(ready, O_CLOEXEC) < 0)
                return error_set(err, errno, "pipe");
        child = fork();
        if (child < 0) {
                close(ready[0]);
                close(ready[1]);
                return error_set(err, errno, "fork");
        }
        if (child == 0) {
                /* The monitor's process: a new session and a subreaper, so the supervisor (and QEMU, should
                 * the supervisor die) stay its children; then hull-monitor in its place. */
                int out[2], errp[2], devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                pid_t sup;

                close(ready[0]);
                setsid();
                prctl(PR_SET_CHILD_SUBREAPER, 1);
                if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                        _exit(1);
                sup = fork();
                if (sup < 0)
                        _exit(1);
                if (sup == 0) {
                        close(out[0]);
                        close(errp[0]);
                        dup2(devnull, STDIN_FILENO);
                        dup2(devnull, STDOUT_FILENO);
                        supervisor(c, rec, &s, is_resume, out[1], errp[1], ready[1]);
                }
                close(ready[1]);
                close(out[1]);
                close(errp[1]);
                dup2(devnull, STDIN_FILENO);
                dup2(devnull, STDOUT_FILENO);
                dup2(devnull, STDERR_FILENO);
                inst_exec_monitor(c, rec, monitor, sup, out[0], errp[0]);
        }
        close(ready[1]);
        r = inst_pid_file_write(c, rec->id, "monitor.pid", child, err);
        if (r >= 0 && !is_resume)
                r = inst_mark_started(c, rec, err);
        do
                n = read(ready[0], msg, sizeof(msg) - 1);
        while (n < 0 && errno == EINTR);
        close(ready[0]);
        if (r < 0)
                return r;
        if (n > 0 && msg[0] == '0')
                return 0;
        msg[n > 0 ? n : 0] = '\0';
        /* The supervisor ends QEMU and releases what it made before it reports. */
        inst_wait_gone(child, 10000);
        if (n <= 1)
                return error_setf(err, EIO, "'%s': the VM's supervisor ended before the guest started", rec->name);
        return error_setf(err, EIO, "%s", msg + 1);
}
