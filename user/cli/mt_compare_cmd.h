/* SPDX-License-Identifier: BSD-2-Clause */
/* `memtrace compare`: two configurations of one command, traced round by
 * round (mt_compare_cmd.c), compared by compare/. */
#ifndef MT_COMPARE_CMD_H
#define MT_COMPARE_CMD_H

/* argv[0] is "compare". Returns the exit status: 0; 1 an error (a round
 * that failed, or whose program exited non-zero); 2 usage; 4 an output
 * not written. */
int mt_compare_main(int argc, char **argv);

#endif /* MT_COMPARE_CMD_H */
