/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hooks.h: running OCI lifecycle hooks */
#pragma once

#include "common/error.h"
#include "spec.h"

/*
 * Runs the hooks in order, each with state_json on its stdin and its own args and env (an empty env
 * when none is given). A hook that exits non-zero, dies, or outlives its timeout (then it is
 * killed) fails the call with an error naming it; later hooks do not run. Forks; blocks.
 */
int rt_hooks_run(const RtHook *hooks, size_t n, RtHookKind kind, const char *state_json, Error **err);
