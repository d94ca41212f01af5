/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* caps.c: the five capability sets and the change of user that must keep them */
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <string.h>

#include "common/log.h"
#include "linux.h"

int rt_caps_drop_bounding(const RtProcess *p, Error **err)
{
        int last = rt_cap_last();

        if (!p->has_caps)
                return 0;
        for (int cap = 0; cap <= last; cap++) {
                if (p->caps[RT_CAP_BOUNDING] & (1ULL << cap))
                        continue;
                if (cap_drop_bound((cap_value_t)cap) < 0 && errno != EINVAL)
                        return error_set(err, errno, "drop %s from the bounding set", rt_cap_name(cap));
        }
        return 0;
}

static int set_caps(const RtProcess *p, Error **err)
{
        static const cap_flag_t flags[] = { CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
        static const RtCapSet sets[] = { RT_CAP_EFFECTIVE, RT_CAP_PERMITTED, RT_CAP_INHERITABLE };
        int last = rt_cap_last();
        cap_t c = cap_init();
        int r = 0;

        if (!c)
                return error_set(err, errno, "cap_init");
        for (size_t i = 0; i < 3; i++) {
                for (int cap = 0; cap <= last; cap++) {
                        cap_value_t v = (cap_value_t)cap;
                        if ((p->caps[sets[i]] & (1ULL << cap)) && cap_set_flag(c, flags[i], 1, &v, CAP_SET) < 0) {
                                r = error_set(err, errno, "set %s", rt_cap_name(cap));
                                goto out;
                        }
                }
        }
        if (cap_set_proc(c) < 0) {
                r = error_set(err, errno, "set capabilities");
                goto out;
        }
        /* The kernel keeps ambient ones only if also permitted and inheritable; clear first so the set is
         * exact. One call: libcap's cap_reset_ambient() asks after every capability first. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                log_debug("clear ambient capabilities: %s", strerror(errno));
        for (int cap = 0; cap <= last; cap++) {
                if (!(p->caps[RT_CAP_AMBIENT] & (1ULL << cap)))
                        continue;
                /* The kernel needs it permitted and inheritable too; a config that lists it as ambient
                 * only (runc's default spec does) gets it skipped, as runc does. */
                if (cap_set_ambient((cap_value_t)cap, CAP_SET) < 0)
                        log_debug("cannot raise ambient %s: %s, skipping", rt_cap_name(cap), strerror(errno));
        }
out:
        cap_free(c);
        return r;
}

int rt_caps_change_user(const RtProcess *p, Error **err)
{
        if (p->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return error_set(err, errno, "keep capabilities");
        if (setgroups(p->n_additional_gids, p->additional_gids) < 0) {
                /* In a user namespace with setgroups denied, only an empty list is possible anyway. */
                if (!(errno == EPERM && p->n_additional_gids == 0))
                        return error_set(err, errno, "process.user.additionalGids: setgroups");
        }
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                return error_set(err, errno, "process.user.gid: setresgid %u", p->gid);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                return error_set(err, errno, "process.user.uid: setresuid %u", p->uid);
        if (!p->has_caps)
                return 0;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return error_set(err, errno, "reset keep capabilities");
        return error_wrap(err, set_caps(p, err), "process.capabilities");
}
