/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* restart.c: restart policies (--restart) applied after an instance exits, and what autostart starts */
/*
 * The policies mean what docker's mean:
 * - on-failure[:N]: the instance is started again when it exits with a non-zero status, at most N
 *   times since its last manual start (no N: no limit; N = 0: never).
 * - always: it is started again after every exit, whatever the status.
 * - Neither restarts after a stop by the user: `hull stop` (and the stop of `hull restart`), `hull rm
 *   -f`, and `hull kill` with SIGKILL (its default) or the instance's stop signal. That last is what
 *   docker's daemon does for `docker kill` (such a kill cancels the pending restart); a kill with any
 *   other signal that makes the instance exit is an exit like any other, restarted under the policy.
 * - Before each restart a delay: 100 ms, doubled at every restart up to 60 s, back to 100 ms when the
 *   instance ran 10 s or more before it exited, so that an instance that crashes at once does not spin.
 * - The restart count (inspect's "restart_count") counts the restarts since the last manual start.
 *
 * How: the instance's monitor records the exit status and then runs `hull __restart ID`, which calls
 * inst_restart_after_exit(). A stop by the user is told apart from an exit by a mark, the file
 * "stop-requested" in the instance's directory, written before the signal under the instance's lock
 * (a flock on its directory) and removed at a manual start. The restart takes the same lock and looks
 * for the mark again after its delay, so that a stop or an rm -f during the delay wins.
 *
 * The monitor sends what that hull says to "hull.err" in the instance's directory: a restart that
 * could not start the instance (a bind's source gone, say) leaves it exited and says why there. The
 * count counts attempts, that one included. Only an instance under a monitor has its policy kept: one
 * run in the foreground (`hull run` without -d) ends with its command, as it has no monitor.
 *
 * `hull autostart` (at boot) starts every instance with --autostart or --restart always: docker too
 * starts restart=always containers when its daemon starts, even those stopped by hand.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "internal.h"

#define STOP_MARK "stop-requested"
#define STATE_FILE "restart-state"
#define DELAY_FIRST_MS 100u
#define DELAY_MAX_MS 60000u
#define RAN_LONG_ENOUGH_S 10

int inst_restart_policy_parse(const char *s, InstRestartPolicy *ret, Error **err)
{
        const char *n;
        char *end;
        long v;

        if (!s || strcmp(s, "no") == 0) {
                *ret = (InstRestartPolicy){ INST_RESTART_NO, -1 };
                return 0;
        }
        if (strcmp(s, "always") == 0) {
                *ret = (InstRestartPolicy){ INST_RESTART_ALWAYS, -1 };
                return 0;
        }
        if (strcmp(s, "on-failure") == 0) {
                *ret = (InstRestartPolicy){ INST_RESTART_ON_FAILURE, -1 };
                return 0;
        }
        if (strncmp(s, "on-failure:", 11) != 0)
                return error_setf(err, EINVAL, "restart policy '%s': give no, on-failure[:N] or always", s);
        n = s + 11;
        errno = 0;
        v = strtol(n, &end, 10);
        if (*n < '0' || *n > '9' || *end || errno != 0 || v > INT32_MAX)
                return error_setf(err, EINVAL, "restart policy '%s': the count must be a number from 0", s);
        *ret = (InstRestartPolicy){ INST_RESTART_ON_FAILURE, (int)v };
        return 0;
}

bool inst_restart_is_due(const InstRestartPolicy *p, int exit_code, unsigned count)
{
        switch (p->kind) {
        case INST_RESTART_ALWAYS:
                return true;
        case INST_RESTART_ON_FAILURE:
                return exit_code != 0 && (p->max_retries < 0 || count < (unsigned)p->max_retries);
        default:
                return false;
        }
}

unsigned inst_restart_next_delay(unsigned prev_ms, int64_t ran_s)
{
        if (prev_ms == 0 || ran_s >= RAN_LONG_ENOUGH_S)
                return DELAY_FIRST_MS;
        return prev_ms >= DELAY_MAX_MS / 2 ? DELAY_MAX_MS : prev_ms * 2;
}

/* The policy kept in the record's options; an unreadable one counts as no. */
static InstRestartPolicy record_policy(const InstRecord *rec, bool *ret_is_autostart)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        InstRestartPolicy p = { INST_RESTART_NO, -1 };

        if (ret_is_autostart)
                *ret_is_autostart = false;
        if (inst_record_options(rec, &o, NULL) < 0)
                return p;
        if (inst_restart_policy_parse(o.restart, &p, NULL) < 0)
                p = (InstRestartPolicy){ INST_RESTART_NO, -1 };
        if (ret_is_autostart)
                *ret_is_autostart = o.is_autostart;
        return p;
}

bool inst_restart_has_policy(const InstRecord *rec)
{
        return record_policy(rec, NULL).kind != INST_RESTART_NO;
}

bool inst_is_autostart(const InstRecord *rec)
{
        bool is_autostart;
        InstRestartPolicy p = record_policy(rec, &is_autostart);

        return is_autostart || p.kind == INST_RESTART_ALWAYS;
}

/* The restarts since the last manual start and the last delay, from the state file ("COUNT DELAY_MS"). */
static void state_read(InstContext *c, const char *id, unsigned *ret_count, unsigned *ret_delay_ms)
{
        _cleanup_free_ char *path = inst_path(c, id, STATE_FILE), *text = NULL;

        *ret_count = 0;
        *ret_delay_ms = 0;
        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || sscanf(text, "%u %u", ret_count, ret_delay_ms) != 2)
                *ret_count = *ret_delay_ms = 0;
}

static int state_write(InstContext *c, const char *id, unsigned count, unsigned delay_ms, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, STATE_FILE), *text = xasprintf("%u %u\n", count, delay_ms);

        return write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, err);
}

unsigned inst_restart_count(InstContext *c, const char *id)
{
        unsigned count, delay_ms;

        state_read(c, id, &count, &delay_ms);
        return count;
}

int inst_lock(InstContext *c, const char *id, int *ret_fd, Error **err)
{
        _cleanup_free_ char *dir = inst_dir(c, id);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return error_set(err, errno, "open '%s'", dir);
        if (flock(fd, LOCK_EX) < 0)
                return error_set(err, errno, "lock '%s'", dir);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void inst_unlockp(int *fd)
{
        /* LOCK_UN, not just close: a child forked while the lock was held may still have a copy. */
        if (*fd >= 0) {
                flock(*fd, LOCK_UN);
                *fd = safe_close(*fd);
        }
}

int inst_restart_mark_stop(InstContext *c, const char *id, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, STOP_MARK);

        return write_file_atomic_at(AT_FDCWD, path, "", 0, 0644, err);
}

void inst_restart_forget(InstContext *c, const char *id)
{
        _cleanup_free_ char *mark = inst_path(c, id, STOP_MARK), *state = inst_path(c, id, STATE_FILE);

        if (unlink(mark) < 0 && errno != ENOENT)
                log_warn("remove '%s': %s, ignoring", mark, strerror(errno));
        if (unlink(state) < 0 && errno != ENOENT)
                log_warn("remove '%s': %s, ignoring", state, strerror(errno));
}

static bool is_stop_marked(InstContext *c, const char *id)
{
        _cleanup_free_ char *path = inst_path(c, id, STOP_MARK);

        return access(path, F_OK) == 0;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int inst_restart_after_exit(InstContext *c, const char *key, bool *ret_is_restarted, Error **err)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL, *again = NULL;
        _cleanup_(inst_unlockp) int lock = -EBADF;
        InstRestartPolicy p;
        unsigned count, delay_ms;
        InstState state;
        int r;

        *ret_is_restarted = false;
        r = inst_db_instance_find(c->db, key, &rec, NULL);
        if (r == -ENOENT)
                return 0; /* removed meanwhile (rm -f): nothing to restart */
        if (r < 0)
                return inst_db_instance_find(c->db, key, &rec, err);
        /* A stop by the user: leave the exit to whoever stopped it, untouched. */
        if (is_stop_marked(c, rec->id))
                return 0;
        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_EXITED)
                return 0; /* started again already (a manual start), or never started */
        p = record_policy(rec, NULL);
        state_read(c, rec->id, &count, &delay_ms);
        if (!inst_restart_is_due(&p, rec->exit_code, count))
                return 0;
        delay_ms = inst_restart_next_delay(delay_ms, rec->finished - rec->started);
        log_debug("'%s' exited with %d: restart %u in %u ms", rec->name, rec->exit_code, count + 1, delay_ms);
        sleep_ms(delay_ms);

        /* After the delay, under the lock: still there, still not stopped by the user, still exited. */
        r = inst_lock(c, rec->id, &lock, NULL);
        if (r == -ENOENT)
                return 0; /* its directory went with an rm -f */
        if (r < 0)
                return inst_lock(c, rec->id, &lock, err);
        r = inst_db_instance_find(c->db, rec->id, &again, NULL);
        if (r == -ENOENT || is_stop_marked(c, rec->id))
                return 0;
        if (r < 0)
                return inst_db_instance_find(c->db, rec->id, &again, err);
        r = inst_state(c, again, &state, NULL, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_EXITED)
                return 0;
        r = state_write(c, rec->id, count + 1, delay_ms, err);
        if (r < 0)
                return r;
        r = inst_driver_start_detached(c, again, err);
        if (r < 0)
                return error_wrap(err, r, "restart '%s'", rec->name);
        *ret_is_restarted = true;
        return 0;
}
