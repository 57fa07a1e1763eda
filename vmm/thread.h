/*
 * The threads kvmm starts besides the main one (vCPUs, device workers, the API's VM thread),
 * each with a small stack: their frames are a few KiB (the API server's big buffers live on
 * the main thread), and a stack below 2 MiB can never be backed by a transparent huge page.
 * glibc's default, 8 MiB, placed right below 2 MiB-aligned guest RAM, got one: 2 MiB of
 * resident memory per thread for a few KiB used.
 *
 * A thread inherits its creator's seccomp filter; one started with kvmm_thread_create_kind()
 * adds its kind's own allowlist (seccomp.h) before it runs anything of its own.
 */
#ifndef KVMM_THREAD_H
#define KVMM_THREAD_H

#include <pthread.h>

#include "seccomp.h"

#define KVMM_THREAD_STACK (512u << 10)

/* pthread_create() with a KVMM_THREAD_STACK stack; the thread keeps its creator's seccomp
 * filter and adds none (the API's VM thread, a VMM thread like its creator). 0 or -errno. */
int kvmm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

/*
 * The same for a thread of kind KIND (SECCOMP_VCPU, SECCOMP_WORKER): it installs KIND's
 * seccomp filter on itself, then runs FN(ARG). Should that fail (the mode is not off), it
 * logs why and ends the process with status 1: a thread must not run unconfined when
 * confinement was asked for. 0 or -errno.
 */
int kvmm_thread_create_kind(pthread_t *thread, enum seccomp_thread kind,
			    void *(*fn)(void *), void *arg);

#endif
