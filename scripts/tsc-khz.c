// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-khz: print the host's TSC rate in kHz, measured against
 * CLOCK_MONOTONIC_RAW over 200 ms. Under QEMU's TCG a guest's rdtsc reads
 * the host's counter, so this is the guest's TSC rate too: scripts/vm-run
 * gives it to the debug kernels as tsc_early_khz=, which have no HPET or
 * ACPI PM timer to calibrate against.
 */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	const struct timespec wait = { .tv_nsec = 200 * 1000 * 1000 };
	unsigned long long c0, c1;
	double t0, t1;

	t0 = seconds();
	c0 = __rdtsc();
	nanosleep(&wait, NULL);
	t1 = seconds();
	c1 = __rdtsc();
	if (c1 <= c0 || t1 <= t0)
		return 1;
	printf("%.0f\n", (double)(c1 - c0) / (t1 - t0) / 1e3);
	return 0;
}
