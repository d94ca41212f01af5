/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: hull-agent's entry: boot as PID 1, then serve the ports (app mode) or hand PID 1 to the image's init */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent/agent.h"

char agent_error[512];
bool agent_is_pid1;

int agent_fail(int errnum, const char *fmt, ...)
{
        va_list ap;
        size_t n;

        if (errnum < 0)
                errnum = -errnum;
        va_start(ap, fmt);
        vsnprintf(agent_error, sizeof(agent_error), fmt, ap);
        va_end(ap);
        n = strlen(agent_error);
        snprintf(agent_error + n, sizeof(agent_error) - n, ": %s", strerror(errnum));
        return -errnum;
}

static void vlog(const char *fmt, va_list ap)
{
        char buf[1024];

        vsnprintf(buf, sizeof(buf), fmt, ap);
        dprintf(STDERR_FILENO, "hull-agent: %s\n", buf);
}

void agent_log(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(fmt, ap);
        va_end(ap);
}

void agent_die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(fmt, ap);
        va_end(ap);
        if (!agent_is_pid1)
                _exit(1);
        sync();
        reboot(RB_POWER_OFF);
        /* Without a way to power off, a reset ends QEMU all the same (it runs with -no-reboot). */
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}

/* System mode: PID 1 keeps its pid and becomes the image's init; a child serves the ports. */
static _Noreturn void run_system(const AgentConfig *c)
{
        sigset_t none;
        pid_t pid = fork();

        if (pid < 0)
                agent_die("fork the port server: %s", strerror(errno));
        if (pid == 0) {
                agent_is_pid1 = false;
                int r = serve_ports();
                agent_log("serving the ports: %s", r < 0 ? agent_error : "ended");
                _exit(1);
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(c->init, c->init, (char *)NULL);
        agent_die("execute '%s': %s", c->init, strerror(errno));
}

int main(int argc, char **argv)
{
        static AgentConfig c;
        int r;

        (void)argc;
        (void)argv;
        agent_is_pid1 = getpid() == 1;
        if (!agent_is_pid1) {
                fprintf(stderr, "hull-agent: runs as PID 1 inside a hull VM\n");
                return 1;
        }
        r = boot_initramfs();
        if (r < 0)
                agent_die("boot: %s", agent_error);
        r = boot_read_cmdline(&c);
        if (r < 0)
                agent_die("kernel command line: %s", agent_error);
        r = boot_switch_root(&c);
        if (r < 0)
                agent_die("root disk: %s", agent_error);
        boot_setup_system(&c);
        if (c.is_poweroff)
                boot_poweroff(0);
        if (c.is_system)
                run_system(&c);
        r = serve_ports();
        agent_die("serving the ports: %s", r < 0 ? agent_error : "ended");
}
