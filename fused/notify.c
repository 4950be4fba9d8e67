// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel notifications (FUSE_NOTIFY_INVAL_ENTRY / _INODE) from a thread of
 * their own. An entry invalidation takes the parent directory's inode lock
 * in the kernel; a task creating a file in that directory holds the lock
 * while it waits for our reply to CREATE. Sent from a request handler, the
 * notification could wait for a request that only a handler can answer:
 * with every handler in that wait (16 cp threads creating in one directory,
 * 16 RELEASEs committing), the server and its clients deadlock. So request
 * handlers and the follow loop only queue notifications; this thread sends
 * them, and may wait on a directory lock while the handlers go on serving.
 *
 * Waking the thread costs more than sending a notice, so it is woken only
 * when it sleeps for want of work: after sending, it gathers for
 * GATHER_US before it looks again (a commit per file under tar or cp
 * queues thousands a second), and only a round that finds nothing puts it
 * back to the sleep a push ends. A notice waits at most GATHER_US more than
 * it did.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fused.h"

struct notice {
	struct notice *next;
	fuse_ino_t ino; /* the directory (entry), or the inode */
	bool entry;	/* inval_entry of @name in @ino, else inval_inode of @ino */
	bool commit;	/* count it in fused.commit_invals once sent */
	char name[];	/* NUL-terminated, entries only */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct notice *head, **tail;
	bool stop, running;
	bool idle; /* the thread waits for a push to wake it */
	pthread_t thread;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .tail = &q.head};

static void push(fuse_ino_t ino, const char *name, bool commit)
{
	size_t len = name ? strlen(name) + 1 : 0;
	struct notice *n = malloc(sizeof(*n) + len);

	if (!n)
		return; /* the kernel's cache ages out; a lookup still finds the truth */
	n->next = NULL;
	n->ino = ino;
	n->entry = name != NULL;
	n->commit = commit;
	if (name)
		memcpy(n->name, name, len);
	pthread_mutex_lock(&q.mu);
	*q.tail = n;
	q.tail = &n->next;
	if (q.idle)
		pthread_cond_signal(&q.cond);
	pthread_mutex_unlock(&q.mu);
}

void fused_notify_entry(fuse_ino_t parent, const char *name, bool commit)
{
	push(parent, name, commit);
}

void fused_notify_inode(fuse_ino_t ino, bool commit)
{
	push(ino, NULL, commit);
}

#define GATHER_US 1000

static void send_notice(const struct notice *n)
{
	if (n->entry)
		fuse_lowlevel_notify_inval_entry(fused.se, n->ino, n->name, strlen(n->name));
	else
		fuse_lowlevel_notify_inval_inode(fused.se, n->ino, -1, 0);
	if (n->commit)
		atomic_fetch_add(&fused.commit_invals, 1);
}

static void *notifier(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.mu);
	for (;;) {
		struct timespec gather = {0, GATHER_US * 1000};
		struct notice *batch;

		q.idle = !q.head;
		while (!q.head && !q.stop)
			pthread_cond_wait(&q.cond, &q.mu);
		q.idle = false;
		if (q.stop)
			break;
		batch = q.head; /* everything queued so far, sent in order */
		q.head = NULL;
		q.tail = &q.head;
		pthread_mutex_unlock(&q.mu);
		while (batch) {
			struct notice *n = batch;

			batch = n->next;
			send_notice(n);
			free(n);
		}
		nanosleep(&gather, NULL);
		pthread_mutex_lock(&q.mu);
	}
	pthread_mutex_unlock(&q.mu);
	return NULL;
}

int fused_notify_start(void)
{
	int rc = pthread_create(&q.thread, NULL, notifier, NULL);

	if (rc)
		return -rc;
	q.running = true;
	return 0;
}

void fused_notify_stop(void)
{
	struct notice *n;

	pthread_mutex_lock(&q.mu);
	q.stop = true;
	q.idle = true; /* wake it whatever it does */
	pthread_cond_signal(&q.cond);
	pthread_mutex_unlock(&q.mu);
	if (q.running)
		pthread_join(q.thread, NULL);
	q.running = false;
	/* The connection is gone: what is left has nobody to tell. */
	while ((n = q.head)) {
		q.head = n->next;
		free(n);
	}
	q.tail = &q.head;
}
