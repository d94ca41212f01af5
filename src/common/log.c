/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c: leveled logging; the only writer of diagnostics besides the CLI's error line */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "alloc.h"
#include "log.h"

static int log_target = STDERR_FILENO;
static bool log_is_json;
static LogLevel log_level = LOG_LEVEL_WARN;

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARN] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

void log_setup(int fd, bool is_json, LogLevel max_level)
{
        log_target = fd;
        log_is_json = is_json;
        log_level = max_level;
}

LogLevel log_max_level(void)
{
        return log_level;
}

int log_fd(void)
{
        return log_target;
}

/* Appends s to buf as the inside of a JSON string. */
static size_t json_escape(char *buf, size_t size, const char *s)
{
        size_t n = 0;
        for (; *s && n + 7 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        buf[n++] = '\\';
                        buf[n++] = (char)c;
                } else if (c < 0x20) {
                        n += (size_t)snprintf(buf + n, size - n, "\\u%04x", c);
                } else {
                        buf[n++] = (char)c;
                }
        }
        buf[n] = 0;
        return n;
}

void log_msg(LogLevel level, const char *fmt, ...)
{
        char msg[4096], line[8192 + 128];
        int saved = errno;
        va_list ap;
        int n;

        if (level > log_level || log_target < 0)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_is_json) {
                char esc[8192], ts[64];
                struct timespec now;
                struct tm tm;

                clock_gettime(CLOCK_REALTIME, &now);
                gmtime_r(&now.tv_sec, &tm);
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                json_escape(esc, sizeof(esc), msg);
                n = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n",
                             level_names[level], esc, ts, now.tv_nsec);
        } else if (level == LOG_LEVEL_ERROR) {
                n = snprintf(line, sizeof(line), "hull: %s\n", msg);
        } else {
                n = snprintf(line, sizeof(line), "hull: %s: %s\n", level_names[level], msg);
        }
        if (n > (int)sizeof(line))
                n = sizeof(line);
        if (write(log_target, line, (size_t)n) < 0) {
                /* a log that cannot be written has nowhere to report to */
        }
        errno = saved;
}
