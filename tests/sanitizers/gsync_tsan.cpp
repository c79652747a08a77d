/* GMutex and GCond on pthreads, for ThreadSanitizer runs (scripts/tsan.sh).
 *
 * GLib on Linux implements GMutex and GCond with its own atomics and futex
 * calls, which ThreadSanitizer cannot see in an uninstrumented libglib: to
 * it, everything guarded by GST_OBJECT_LOCK, a pad's or a bus's lock is
 * unguarded, and every such access would be reported as a race. Preloaded,
 * this library replaces them for every caller outside libglib with the
 * pthread mutexes and condition variables that ThreadSanitizer intercepts,
 * allocated on first use and kept behind the GMutex's / GCond's pointer (as
 * GLib itself does on platforms without futexes).
 *
 * Debian's libglib binds its own calls locally (-Bsymbolic-functions), so
 * its internal locks keep GLib's implementation: consistent, because those
 * are never locked from outside libglib. GRecMutex and GRWLock already use
 * pthreads and need nothing.
 *
 * Not part of the plugin; built only in a ThreadSanitizer build. */
#include <glib.h>
#include <pthread.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

extern "C" {

[[noreturn]] static void die(const char *what, int error) {
  g_printerr("gsync-tsan: %s failed: %s\n", what, g_strerror(error));
  abort();
}

static pthread_mutex_t *mutex_of(GMutex *mutex) {
  auto *m = static_cast<pthread_mutex_t *>(g_atomic_pointer_get(&mutex->p));
  if (G_LIKELY(m != nullptr)) return m;
  m = static_cast<pthread_mutex_t *>(malloc(sizeof *m));
  if (m == nullptr) die("malloc", ENOMEM);
  int error = pthread_mutex_init(m, nullptr);
  if (error) die("pthread_mutex_init", error);
  gpointer expected = nullptr;
  if (!__atomic_compare_exchange_n(&mutex->p, &expected, static_cast<gpointer>(m), false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    pthread_mutex_destroy(m);
    free(m);
    m = static_cast<pthread_mutex_t *>(expected);
  }
  return m;
}

void g_mutex_init(GMutex *mutex) {
  mutex->p = nullptr;
  mutex_of(mutex);
}

void g_mutex_clear(GMutex *mutex) {
  auto *m = static_cast<pthread_mutex_t *>(mutex->p);
  if (m == nullptr) return;
  int error = pthread_mutex_destroy(m);
  if (error) die("pthread_mutex_destroy (a GMutex cleared while locked)", error);
  free(m);
  mutex->p = nullptr;
}

void g_mutex_lock(GMutex *mutex) {
  int error = pthread_mutex_lock(mutex_of(mutex));
  if (error) die("pthread_mutex_lock", error);
}

void g_mutex_unlock(GMutex *mutex) {
  int error = pthread_mutex_unlock(mutex_of(mutex));
  if (error) die("pthread_mutex_unlock", error);
}

gboolean g_mutex_trylock(GMutex *mutex) {
  int error = pthread_mutex_trylock(mutex_of(mutex));
  if (error == 0) return TRUE;
  if (error != EBUSY) die("pthread_mutex_trylock", error);
  return FALSE;
}

/* Condition variables on the monotonic clock, as g_cond_wait_until's end
 * time is g_get_monotonic_time(). */
static pthread_cond_t *cond_of(GCond *cond) {
  auto *c = static_cast<pthread_cond_t *>(g_atomic_pointer_get(&cond->p));
  if (G_LIKELY(c != nullptr)) return c;
  c = static_cast<pthread_cond_t *>(malloc(sizeof *c));
  if (c == nullptr) die("malloc", ENOMEM);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int error = pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
  if (error) die("pthread_cond_init", error);
  gpointer expected = nullptr;
  if (!__atomic_compare_exchange_n(&cond->p, &expected, static_cast<gpointer>(c), false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    pthread_cond_destroy(c);
    free(c);
    c = static_cast<pthread_cond_t *>(expected);
  }
  return c;
}

void g_cond_init(GCond *cond) {
  cond->p = nullptr;
  cond_of(cond);
}

void g_cond_clear(GCond *cond) {
  auto *c = static_cast<pthread_cond_t *>(cond->p);
  if (c == nullptr) return;
  int error = pthread_cond_destroy(c);
  if (error) die("pthread_cond_destroy", error);
  free(c);
  cond->p = nullptr;
}

void g_cond_wait(GCond *cond, GMutex *mutex) {
  int error = pthread_cond_wait(cond_of(cond), mutex_of(mutex));
  if (error) die("pthread_cond_wait", error);
}

gboolean g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time) {
  struct timespec end;
  end.tv_sec = end_time / 1000000;
  end.tv_nsec = (end_time % 1000000) * 1000;
  int error = pthread_cond_timedwait(cond_of(cond), mutex_of(mutex), &end);
  if (error == 0) return TRUE;
  if (error != ETIMEDOUT) die("pthread_cond_timedwait", error);
  return FALSE;
}

void g_cond_signal(GCond *cond) {
  int error = pthread_cond_signal(cond_of(cond));
  if (error) die("pthread_cond_signal", error);
}

void g_cond_broadcast(GCond *cond) {
  int error = pthread_cond_broadcast(cond_of(cond));
  if (error) die("pthread_cond_broadcast", error);
}

}  // extern "C"
