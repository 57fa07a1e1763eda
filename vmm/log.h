/*
 * Logging to stderr (or a log file): one verbosity knob, -v/-vv/-vvv on the
 * command line map to info/debug/trace; errors and warnings always print.
 */
#ifndef KVMM_LOG_H
#define KVMM_LOG_H

enum log_level { LOG_QUIET = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

extern enum log_level log_threshold;

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The first error message this thread logged since log_clear_error() ("" if none), e.g. for
 * an API answer that says why a VM did not boot. Recorded even when errors are not printed. */
const char *log_first_error(void);
void log_clear_error(void);

#define pr_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) do { if (log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define pr_trace(...) do { if (log_threshold >= LOG_TRACE) log_msg(LOG_TRACE, __VA_ARGS__); } while (0)

/* Opens PATH for appending and sends all further log lines there; 0/-errno. */
int log_set_file(const char *path);

#endif
