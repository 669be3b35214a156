// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem demo: put a buffer in ZONE_MOVABLE, pin it long-term, and show
 * where its pages were before and after, as the process (pagemap) and the
 * module (QUERY, debugfs) see them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 16) * MiB;
	struct pinmem_query_args q = { 0 };
	uint64_t h, nr;
	char *buf;
	int fd, ret, z;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pins_set_baseline();
	printf("pinmem demo: %zu MiB anonymous buffer\n", len / MiB);
	buf = map_anon(len, PROT_READ | PROT_WRITE);
	if (!buf)
		return 1;
	fill_pattern(buf, len, 42);
	print_placement("placement before PIN (pagemap)", buf, len);

	fd = pm_open();
	if (fd < 0) {
		perror("open /dev/pinmem");
		return 1;
	}
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &nr);
	if (ret) {
		printf("PIN failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("PIN: handle %llu, %llu pages pinned with FOLL_LONGTERM\n",
	       (unsigned long long)h, (unsigned long long)nr);
	print_placement("placement after PIN (pagemap)", buf, len);
	q.handle = h;
	if (!pm_query(fd, &q)) {
		printf("# placement after PIN (QUERY):");
		for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
			if (q.zone_pages[z])
				printf(" zone%d=%llu", z,
				       (unsigned long long)q.zone_pages[z]);
		printf(" (zone %d is Movable)\n", PINMEM_ZONE_MOVABLE);
	}
	printf("contents after migration: %s\n",
	       check_pattern(buf, len, 42) ? "CORRUPTED" : "intact");
	cat_file("/sys/kernel/debug/pinmem/pins");
	cat_file("/sys/kernel/debug/pinmem/stats");
	pm_unpin(fd, h);
	close(fd);
	printf("unpinned; FOLL_PIN references left by this demo: %ld\n",
	       pins_outstanding());
	return 0;
}
