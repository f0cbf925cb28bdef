/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Statistics shared by the analyses that judge a series of samples (the
 * growth trend of analyze/, the survivors across windows of budget/).
 */
#ifndef MT_STATS_H
#define MT_STATS_H

/* z of the Mann-Kendall S statistic of y[0..n), with continuity
 * correction and without the variance's tie correction, so ties make it
 * conservative (counted as no change). 0 for fewer than 3 points. O(n^2). */
double mt_mann_kendall_z(const double *y, unsigned n);

#endif /* MT_STATS_H */
