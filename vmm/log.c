/*
 * Log sink: timestamped lines to stderr or to the file set by --log-file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_level log_threshold = LOG_WARN;
static int log_fd = STDERR_FILENO;
/* The first error logged by this thread since log_clear_error(). */
static __thread char first_error[256];

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	va_list ap;
	int n, m, saved_errno = errno;

	if (lvl == LOG_ERROR && !first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
		errno = saved_errno;
	}
	if (lvl > log_threshold)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "kvmm: [%ld.%06ld] %s: ", (long)ts.tv_sec,
		     ts.tv_nsec / 1000, level_names[lvl]);
	errno = saved_errno;	/* for %m, and so callers can log then use errno */
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(log_fd, buf, n) < 0)
		n = 0;
	errno = saved_errno;
}

const char *log_first_error(void)
{
	return first_error;
}

void log_clear_error(void)
{
	first_error[0] = '\0';
}

int log_set_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}
