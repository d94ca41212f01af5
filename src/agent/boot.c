/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* boot.c: hull-agent's boot: initramfs mounts, modules, the root disk as /, the API mounts, power off */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mount_at(const char *src, const char *target, const char *type, unsigned long flags,
                    const char *opts)
{
        if (mkdir(target, 0755) < 0 && errno != EEXIST)
                return agent_fail(errno, "make mount point '%s'", target);
        if (mount(src, target, type, flags, opts) < 0)
                return agent_fail(errno, "mount %s on '%s'", type, target);
        return 0;
}

/* The kernel gives init no stdio when the initramfs has no /dev/console: take it from devtmpfs. */
static void open_console(void)
{
        int fd = open("/dev/console", O_RDWR | O_NOCTTY);

        if (fd < 0)
                return;
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
                close(fd);
}

static int load_modules(void)
{
        char line[512];
        FILE *f = fopen("/lib/modules/hull.load", "re");

        if (!f)
                return errno == ENOENT ? 0 : agent_fail(errno, "open '/lib/modules/hull.load'");
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                int fd = open(line, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        int e = errno;
                        fclose(f);
                        return agent_fail(e, "open module '%s'", line);
                }
                long r = syscall(SYS_finit_module, fd, "", 0);
                int e = errno;
                close(fd);
                if (r < 0 && e != EEXIST) {
                        fclose(f);
                        return agent_fail(e, "load module '%s'", line);
                }
        }
        fclose(f);
        return 0;
}

int boot_initramfs(void)
{
        int r;

        mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
        open_console();
        r = mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return r;
        r = mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return r;
        return load_modules();
}

static void copy_param(char *dst, size_t cap, const char *v)
{
        snprintf(dst, cap, "%s", v);
}

int boot_read_cmdline(AgentConfig *c)
{
        char buf[4096];
        char *tok, *save = NULL;
        ssize_t n;
        int fd;

        memset(c, 0, sizeof(*c));
        copy_param(c->root, sizeof(c->root), "/dev/vda");
        copy_param(c->init, sizeof(c->init), "/sbin/init");
        fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return agent_fail(errno, "open '/proc/cmdline'");
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return agent_fail(errno, "read '/proc/cmdline'");
        buf[n] = 0;
        for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
                char *v = strchr(tok, '=');
                if (strncmp(tok, "hull.", 5) != 0 || !v)
                        continue;
                *v++ = 0;
                if (strcmp(tok, "hull.mode") == 0) {
                        if (strcmp(v, "system") != 0 && strcmp(v, "app") != 0 && strcmp(v, "poweroff") != 0)
                                return agent_fail(EINVAL, "hull.mode '%s'", v);
                        c->is_system = strcmp(v, "system") == 0;
                        c->is_poweroff = strcmp(v, "poweroff") == 0;
                } else if (strcmp(tok, "hull.root") == 0) {
                        copy_param(c->root, sizeof(c->root), v);
                } else if (strcmp(tok, "hull.init") == 0) {
                        copy_param(c->init, sizeof(c->init), v);
                } else if (strcmp(tok, "hull.ip") == 0) {
                        copy_param(c->ip, sizeof(c->ip), v);
                } else if (strcmp(tok, "hull.gw") == 0) {
                        copy_param(c->gw, sizeof(c->gw), v);
                } else if (strcmp(tok, "hull.mtu") == 0) {
                        c->mtu = (unsigned)strtoul(v, NULL, 10);
                } else if (strcmp(tok, "hull.hostname") == 0) {
                        copy_param(c->hostname, sizeof(c->hostname), v);
                }
        }
        return 0;
}

/* Removes the initramfs's files below dfd, staying on its file system (dev is the initramfs's). */
static void remove_tree(int dfd, dev_t dev)
{
        DIR *d = fdopendir(dfd);
        struct dirent *de;

        if (!d) {
                close(dfd);
                return;
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                remove_tree(sub, dev);
                        unlinkat(dfd, de->d_name, AT_REMOVEDIR);
                } else {
                        unlinkat(dfd, de->d_name, 0);
                }
        }
        closedir(d);
}

/* Waits for the root device node: the disk's driver probes it while its module loads, or shortly after. */
static int wait_for_device(const char *dev)
{
        int64_t deadline = now_ms() + 10000;
        struct stat st;

        while (stat(dev, &st) < 0) {
                if (now_ms() > deadline)
                        return agent_fail(ENODEV, "root device '%s' did not appear within 10 s", dev);
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return 0;
}

static int mount_api(void)
{
        static const struct {
                const char *src, *target, *type;
                unsigned long flags;
                const char *opts;
        } m[] = {
                { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
                { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
                { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
                { "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620" },
                { "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
                { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
                { "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
        };
        size_t i;
        int r;

        for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
                r = mount_at(m[i].src, m[i].target, m[i].type, m[i].flags, m[i].opts);
                if (r < 0)
                        return r;
        }
        symlink("/proc/self/fd", "/dev/fd");
        symlink("/proc/self/fd/0", "/dev/stdin");
        symlink("/proc/self/fd/1", "/dev/stdout");
        symlink("/proc/self/fd/2", "/dev/stderr");
        return 0;
}

int boot_switch_root(const AgentConfig *c)
{
        struct stat st;
        int r, fd;

        r = wait_for_device(c->root);
        if (r < 0)
                return r;
        r = mount_at(c->root, "/newroot", "ext4", 0, NULL);
        if (r < 0)
                return r;
        /* As switch_root does: the initramfs's memory is only freed when its files are gone. */
        umount2("/proc", MNT_DETACH);
        umount2("/sys", MNT_DETACH);
        umount2("/dev", MNT_DETACH);
        if (stat("/", &st) == 0) {
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0)
                        remove_tree(fd, st.st_dev);
        }
        if (chdir("/newroot") < 0)
                return agent_fail(errno, "enter '/newroot'");
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                return agent_fail(errno, "move the root disk to '/'");
        if (chroot(".") < 0 || chdir("/") < 0)
                return agent_fail(errno, "change root");
        return mount_api();
}

void boot_setup_system(const AgentConfig *c)
{
        int r;

        if (c->hostname[0] && sethostname(c->hostname, strlen(c->hostname)) < 0)
                agent_log("set hostname '%s': %s", c->hostname, strerror(errno));
        if (net_link_up("lo") < 0)
                agent_log("%s", agent_error);
        if (!c->ip[0] && !c->mtu)
                return;
        /* virtio_net registers eth0 as its module loads; give a late probe a moment all the same. */
        for (int i = 0; i < 200; i++) {
                if (access("/sys/class/net/eth0", F_OK) == 0)
                        break;
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        r = net_configure("eth0", c->ip, c->gw, c->mtu);
        if (r < 0)
                agent_log("network: %s", agent_error);
}

/* Reaps what has exited; true when no child is left. */
static bool reap_all(void)
{
        for (;;) {
                pid_t p = waitpid(-1, NULL, WNOHANG);
                if (p > 0)
                        continue;
                return p < 0 && errno == ECHILD;
        }
}

/* Waits up to ms for every child to go, woken by SIGCHLD through a signalfd. */
static bool wait_children(int ms)
{
        int64_t deadline = now_ms() + ms;
        sigset_t set;
        int sfd;
        bool done;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, NULL);
        sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        while (!(done = reap_all())) {
                int64_t left = deadline - now_ms();
                if (left <= 0 || sfd < 0)
                        break;
                struct pollfd p = { .fd = sfd, .events = POLLIN };
                struct signalfd_siginfo si;
                if (poll(&p, 1, (int)left) > 0)
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                ;
        }
        if (sfd >= 0)
                close(sfd);
        return done;
}

void boot_poweroff(unsigned timeout_s)
{
        kill(-1, SIGTERM);
        if (!wait_children((int)timeout_s * 1000)) {
                kill(-1, SIGKILL);
                wait_children(2000);
        }
        sync();
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
                agent_log("remount the root disk read-only: %s", strerror(errno));
        reboot(RB_POWER_OFF);
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}

int boot_request_poweroff(void)
{
        char comm[64] = "";
        int fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;

        if (fd >= 0)
                close(fd);
        if (n > 0)
                comm[n] = 0;
        if (kill(1, strncmp(comm, "systemd", 7) == 0 ? SIGRTMIN + 4 : SIGUSR2) < 0)
                return agent_fail(errno, "signal PID 1");
        return 0;
}
