/*
 * The threads kvmm starts besides the main one (vCPUs, device workers, the API's VM thread),
 * each with a small stack: their frames are a few KiB (the API server's big buffers live on
 * the main thread), and a stack below 2 MiB can never be backed by a transparent huge page.
 * glibc's default, 8 MiB, placed right below 2 MiB-aligned guest RAM, got one: 2 MiB of
 * resident memory per thread for a few KiB used.
 */
#ifndef KVMM_THREAD_H
#define KVMM_THREAD_H

#include <pthread.h>

#define KVMM_THREAD_STACK (512u << 10)

/* pthread_create() with a KVMM_THREAD_STACK stack; 0 or -errno. */
int kvmm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
