/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: the hull command line: verb table and global options */
int main(void);
int main(void)
{
        return 0;
}
