// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include "util/mt_stats.h"

double mt_mann_kendall_z(const double *y, unsigned n)
{
	double var, s = 0;
	unsigned i, j;

	if (n < 3)
		return 0;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			s += (y[j] > y[i]) - (y[j] < y[i]);
	var = (double)n * (n - 1) * (2.0 * n + 5) / 18.0;
	if (s > 0)
		return (s - 1) / sqrt(var);
	if (s < 0)
		return (s + 1) / sqrt(var);
	return 0;
}
