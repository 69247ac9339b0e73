// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf-stat: one screen about every cmabuf pool and memory zone, from
 * /sys/kernel/debug/cmabuf and /proc/meminfo.
 *
 *   cmabuf_stat            print once
 *   cmabuf_stat --watch 2  print every 2 seconds until interrupted
 */
#include <dirent.h>

#include "../cmabuf_util.h"

static char text[65536];

/* The largest p99 over the size classes of a latency file (the summary rows). */
static long long worst_p99(const char *path)
{
	long long count, p50, p90, p99, max, worst = 0;
	char *line, cls[16];

	if (read_text(path, text, sizeof(text)) <= 0)
		return -1;
	for (line = text; line && *line != '\n'; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%15s %lld %lld %lld %lld %lld", cls, &count, &p50, &p90, &p99,
			   &max) == 6 && p99 > worst)
			worst = p99;
	return worst;
}

static void pools(void)
{
	DIR *dir = opendir(CMABUF_DEBUGFS);
	struct dirent *d;

	printf("%-10s %8s %8s %8s %8s %5s %8s %9s %6s %6s %8s\n", "pool", "size_M", "used_M",
	       "free_M", "run_M", "bufs", "peak_M", "migrated", "fails", "ebusy", "p99_us");
	if (!dir) {
		printf("(no %s: is cmabuf loaded and debugfs mounted?)\n", CMABUF_DEBUGFS);
		return;
	}
	while ((d = readdir(dir))) {
		char path[300];
		long long p99;

		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/latency", d->d_name);
		p99 = worst_p99(path);
#define M(key) (info_value(d->d_name, key) >> 20)
		printf("%-10s %8lld %8lld %8lld %8lld %5lld %8lld %9lld %6lld %6lld %8lld\n",
		       d->d_name, M("size"), M("used"), M("free"), M("largest_free"),
		       info_value(d->d_name, "buffers"), M("peak_used"),
		       info_value(d->d_name, "migrated_pages"), info_value(d->d_name, "failures"),
		       info_value(d->d_name, "failures_ebusy_migration"), p99);
#undef M
	}
	closedir(dir);
}

static void zones(void)
{
	char *zone = text;
	long long page_kib = getpagesize() / 1024;

	printf("\n%-12s %10s %10s %10s %8s %8s %8s\n", "zone", "managed_M", "free_M",
	       "free_cma_M", "min_M", "low_M", "high_M");
	if (read_text(CMABUF_DEBUGFS "/zones", text, sizeof(text)) <= 0)
		return;
	while ((zone = strstr(zone, "zone: "))) {
		char name[40] = "";
		int nid = 0;

		sscanf(zone, "zone: %d %31s", &nid, name);
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "/%d", nid);
#define M(key) (text_field(zone, key) * page_kib / 1024)
		printf("%-12s %10lld %10lld %10lld %8lld %8lld %8lld\n", name, M("managed"),
		       M("free"), M("free_cma"), M("min"), M("low"), M("high"));
#undef M
		zone += 6;
	}
	printf("\nCMA: %lld MiB total, %lld MiB free; the rest is lent to the system or in buffers\n",
	       meminfo_kb("CmaTotal") >> 10, meminfo_kb("CmaFree") >> 10);
}

int main(int argc, char **argv)
{
	int watch = argc == 3 && !strcmp(argv[1], "--watch") ? atoi(argv[2]) : 0;

	if (argc != 1 && watch <= 0) {
		fprintf(stderr, "usage: %s [--watch SECONDS]\n", argv[0]);
		return 2;
	}
	do {
		if (watch)
			printf("\033[H\033[2J");
		pools();
		zones();
		fflush(stdout);
	} while (watch && !sleep(watch));
	return 0;
}
