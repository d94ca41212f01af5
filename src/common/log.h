/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.h: leveled logging to stderr or a file, as text or as runc-style JSON lines */
#pragma once

#include "cleanup.h"

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} LogLevel;

/*
 * Sends messages to fd (stderr when never called), as text or as one JSON object a line
 * ({"level":"error","msg":"...","time":"..."}) as containerd expects from --log-format json.
 * The fd is not owned.
 */
void log_setup(int fd, bool is_json, LogLevel max_level);
LogLevel log_max_level(void);
int log_fd(void);

void log_msg(LogLevel level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                   \
        do {                                                                                             \
                if (log_max_level() >= LOG_LEVEL_DEBUG)                                                  \
                        log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                           \
        } while (0)
