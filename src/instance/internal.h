/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what the files of src/instance share among themselves */
#pragma once

#include "common/error.h"

/* Instance names: docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
int inst_check_name(const char *name, Error **err);
