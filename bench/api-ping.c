/*
 * api-ping RUNS PROGRAM...: exec -> first successful vmm.ping, the latency Kata's clh driver
 * waits through before it can send vm.create. Spawns `PROGRAM --api-socket PATH` RUNS times
 * for each PROGRAM (which may carry arguments of its own: "build/kvmm --seccomp false"), one
 * run of each in turn so that what else the machine does falls on all alike, and polls the
 * socket as fast as it can (posix_spawn: the harness adds little). Prints per program the
 * median, p90, p99 and extremes in milliseconds, the median CPU time a run used from exec to
 * exit and, from the second program on, the median and p99 as a ratio to the first one's
 * (give the floor first: bench/ping-floor.c); then per program a line
 * "api-ping-runs PROGRAM US..." with every run in microseconds, in the order run
 * (bench/api-plot.py charts them). No /dev/kvm needed.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
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

/* One run of PROG ("path [arg...]", split at spaces): ms from spawn to the first 200, or -1
 * after 5 s without one; in *CPU_MS the CPU time (user and system) the program used from its
 * exec to its exit on SIGTERM right after that answer. */
static double run_once(const char *prog, const char *path, double *cpu_ms)
{
	struct rusage ru;
	char words[512], *args[16];
	double t0, t = -1;
	int n = 0;
	pid_t pid;

	snprintf(words, sizeof(words), "%s", prog);
	for (char *w = strtok(words, " "); w && n < 13; w = strtok(NULL, " "))
		args[n++] = w;
	args[n++] = "--api-socket";
	args[n++] = (char *)path;
	args[n] = NULL;
	t0 = now_ms();
	if (posix_spawn(&pid, args[0], NULL, NULL, args, environ)) {
		perror("posix_spawn");
		return -1;
	}
	while (now_ms() - t0 < 5000)
		if (ping(path)) {
			t = now_ms() - t0;
			break;
		}
	kill(pid, SIGTERM);
	if (wait4(pid, NULL, 0, &ru) == pid)
		*cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	unlink(path);
	return t;
}

static double at(const double *t, int n, double q)
{
	int i = (int)(q * n);

	return t[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[1]) : 0, nprog = argc - 2;
	char dir[] = "/tmp/kvmm-ping-XXXXXX", path[64];
	double **t, **cpu, base_med = 0, base_p99 = 0;

	if (runs < 1 || nprog < 1 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: api-ping RUNS PROGRAM...\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	t = calloc(nprog, sizeof(*t));
	cpu = calloc(nprog, sizeof(*cpu));
	for (int p = 0; p < nprog; p++) {
		t[p] = calloc(runs, sizeof(**t));
		cpu[p] = calloc(runs, sizeof(**cpu));
	}
	for (int i = 0; i < runs; i++)
		for (int p = 0; p < nprog; p++) {
			t[p][i] = run_once(argv[2 + p], path, &cpu[p][i]);
			if (t[p][i] < 0) {
				fprintf(stderr, "api-ping: %s: no 200 to vmm.ping within 5 s\n",
					argv[2 + p]);
				rmdir(dir);
				return 1;
			}
		}
	rmdir(dir);
	for (int p = 0; p < nprog; p++) {
		printf("api-ping-runs %s", argv[2 + p]);
		for (int i = 0; i < runs; i++)
			printf(" %.0f", t[p][i] * 1e3);
		printf("\n");
	}
	for (int p = 0; p < nprog; p++) {
		double med, p99;

		qsort(t[p], runs, sizeof(**t), cmp);
		qsort(cpu[p], runs, sizeof(**cpu), cmp);
		med = at(t[p], runs, 0.5);
		p99 = at(t[p], runs, 0.99);
		printf("api-ping %s: exec->ping ms median %.2f p90 %.2f p99 %.2f min %.2f max %.2f "
		       "(%d runs); CPU ms exec->exit median %.2f", argv[2 + p], med,
		       at(t[p], runs, 0.9), p99, t[p][0], t[p][runs - 1], runs,
		       at(cpu[p], runs, 0.5));
		if (p == 0) {
			base_med = med;
			base_p99 = p99;
		} else {
			printf(" ratio to %s: median %.2f p99 %.2f", argv[2], med / base_med,
			       p99 / base_p99);
		}
		printf("\n");
	}
	return 0;
}
