/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runtime-hooks.c: not yet written */
int main(void);
int main(void)
{
        return 77;
}
