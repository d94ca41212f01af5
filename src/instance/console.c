/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* console.c: the relay between the user's terminal and an instance's console (VM serial, /dev/console) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "common/fs.h"
#include "internal.h"
#include "runtime/tty.h"

/* Once stdin ended (no terminal: a script's input), what the console still says is relayed until it
 * has been quiet this long. */
#define QUIET_MS 1000

/* Removes the detach keys from buf[0..n): Ctrl-a q detaches (*is_detach), Ctrl-a Ctrl-a sends one
 * Ctrl-a. *is_escape carries a Ctrl-a across reads. Returns the bytes left to send. */
static size_t filter_keys(char *buf, size_t n, bool *is_escape, bool *is_detach)
{
        size_t w = 0;

        for (size_t i = 0; i < n && !*is_detach; i++) {
                if (*is_escape) {
                        *is_escape = false;
                        if (buf[i] == 'q') {
                                *is_detach = true;
                                continue;
                        }
                        if (buf[i] != 0x01)
                                buf[w++] = 0x01;
                } else if (buf[i] == 0x01) {
                        *is_escape = true;
                        continue;
                }
                buf[w++] = buf[i];
        }
        return w;
}

int inst_console_relay(int fd, const char *name, Error **err)
{
        struct termios saved;
        bool is_raw = false, is_escape = false, has_input = true;
        char buf[4096];

        (void)err;
        if (isatty(STDIN_FILENO) && rt_tty_raw(STDIN_FILENO, -EBADF, &saved) == 0) {
                is_raw = true;
                fprintf(stderr, "hull: attached to the console of '%s'; Ctrl-a q detaches\r\n", name);
        }
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = STDIN_FILENO, .events = POLLIN } };
                int n_ready = poll(p, has_input ? 2 : 1, has_input ? -1 : QUIET_MS);
                if (n_ready < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (n_ready == 0)
                        break; /* stdin is over and the console has gone quiet */
                if (p[0].revents) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n <= 0 || fd_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                                break;
                }
                if (has_input && p[1].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        bool is_detach = false;
                        size_t w;
                        if (n <= 0) {
                                if (is_raw)
                                        break;
                                has_input = false;
                                continue;
                        }
                        w = filter_keys(buf, (size_t)n, &is_escape, &is_detach);
                        if (w > 0 && fd_write_all(fd, buf, w) < 0)
                                break;
                        if (is_detach)
                                break;
                }
        }
        if (is_raw) {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                fprintf(stderr, "\r\n");
        }
        return 0;
}
