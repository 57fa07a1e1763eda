/*
 * api-ping KVMM [RUNS]: kvmm exec -> first successful vmm.ping, the latency Kata's clh driver
 * waits through before it can send vm.create. Spawns `KVMM --api-socket` RUNS times
 * (posix_spawn, so the harness adds little), polls the socket as fast as it can, and prints
 * the median and spread in milliseconds. No /dev/kvm needed.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One ping on PATH: 1 when it answered 200. */
static int ping(const char *path)
{
	static const char req[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[16] = "";
	int s = socket(AF_UNIX, SOCK_STREAM, 0), ok = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s >= 0 && !connect(s, (struct sockaddr *)&sa, sizeof(sa)) &&
	    write(s, req, sizeof(req) - 1) == sizeof(req) - 1 && read(s, buf, 12) == 12)
		ok = !strncmp(buf, "HTTP/1.1 200", 12);
	if (s >= 0)
		close(s);
	return ok;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 50;
	double *t;
	char dir[] = "/tmp/kvmm-ping-XXXXXX", path[64];

	if (argc < 2 || runs < 1 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: api-ping KVMM [RUNS]\n");
		return 2;
	}
	t = calloc(runs, sizeof(*t));
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	for (int i = 0; i < runs; i++) {
		char *args[] = { argv[1], "--api-socket", path, NULL };
		double t0 = now_ms();
		pid_t pid;

		if (posix_spawn(&pid, argv[1], NULL, NULL, args, environ)) {
			perror("posix_spawn");
			return 1;
		}
		while (!ping(path) && now_ms() - t0 < 5000)
			;
		t[i] = now_ms() - t0;
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	rmdir(dir);
	qsort(t, runs, sizeof(*t), cmp);
	printf("exec->ping ms: median %.2f min %.2f p90 %.2f max %.2f (%d runs)\n", t[runs / 2],
	       t[0], t[runs * 9 / 10], t[runs - 1], runs);
	return 0;
}
