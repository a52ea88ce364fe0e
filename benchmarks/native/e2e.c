// Native (C, raw RESP over TCP) end-to-end anchors for Redis messaging on 127.0.0.1.
// Copied from ../shared/perf/e2e.c (the brief's reference client) so benchmarks/run.sh is
// self-contained; one change, marked "Brook:", makes the paced mode measure as Brook's harness does.
// Build: gcc -O2 -pthread -o e2e e2e.c
// Modes:
//   pingpong PORT N SIZE            serial publish->subscriber receipt (FastStream-benchmark shape), latency pctl
//   rate     PORT RATE SECS SIZE    paced Pub/Sub publish, publish->receipt latency percentiles
//   pubsub   PORT N SIZE PIPE       pipelined PUBLISH (PIPE per round trip) || subscriber thread counting
//   list     PORT N SIZE BATCH      LPUSH with BATCH values per command || consumer RPOP key 100 (+BRPOP when empty)
//   stream   PORT N SIZE PIPE       XADD pipelined PIPE per round trip || XREADGROUP COUNT 100 + XACK (pipelined together)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int PORT;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (void *)&a, sizeof a)) { perror("connect"); exit(1); }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}
// ---------- writer ----------
typedef struct { char *b; size_t n, cap; } wbuf;
static void wput(wbuf *w, const void *p, size_t n) {
  if (w->n + n > w->cap) { w->cap = (w->n + n) * 2; w->b = realloc(w->b, w->cap); }
  memcpy(w->b + w->n, p, n); w->n += n;
}
static void warr(wbuf *w, int n) { char h[32]; int k = sprintf(h, "*%d\r\n", n); wput(w, h, k); }
static void wbulk(wbuf *w, const char *p, size_t n) { char h[32]; int k = sprintf(h, "$%zu\r\n", n); wput(w, h, k); wput(w, p, n); wput(w, "\r\n", 2); }
static void wstr(wbuf *w, const char *s) { wbulk(w, s, strlen(s)); }
static void wflush(int fd, wbuf *w) {
  size_t o = 0; while (o < w->n) { ssize_t k = write(fd, w->b + o, w->n - o); if (k <= 0) { perror("write"); exit(1); } o += k; }
  w->n = 0;
}
// ---------- reader ----------
typedef struct { int fd; char buf[1 << 20]; size_t s, e; } rd;
static void fill(rd *r) {
  if (r->s == r->e) r->s = r->e = 0;
  if (r->e == sizeof r->buf) { memmove(r->buf, r->buf + r->s, r->e - r->s); r->e -= r->s; r->s = 0; }
  ssize_t k = read(r->fd, r->buf + r->e, sizeof r->buf - r->e);
  if (k <= 0) { fprintf(stderr, "read eof\n"); exit(1); }
  r->e += k;
}
static long rline(rd *r, char *type) {  // reads "<t><num>\r\n"
  for (;;) {
    char *p = memchr(r->buf + r->s, '\n', r->e - r->s);
    if (p) { *type = r->buf[r->s]; long v = strtol(r->buf + r->s + 1, NULL, 10); r->s = p - r->buf + 1; return v; }
    if (r->s > 0) { memmove(r->buf, r->buf + r->s, r->e - r->s); r->e -= r->s; r->s = 0; }
    fill(r);
  }
}
typedef void (*bulkcb)(int depth, const char *p, long n, void *ud);
static volatile uint64_t sink;
// parse one reply; calls cb for each bulk string with its depth; returns top-level integer/array len
static long parse(rd *r, int depth, bulkcb cb, void *ud) {
  char t; long v = rline(r, &t);
  if (t == '*') { for (long i = 0; i < v; i++) parse(r, depth + 1, cb, ud); return v; }
  if (t == '$') {
    if (v < 0) return -1;
    while (r->e - r->s < (size_t)v + 2) { if (r->s > 0) { memmove(r->buf, r->buf + r->s, r->e - r->s); r->e -= r->s; r->s = 0; } fill(r); }
    const char *p = r->buf + r->s;
    sink += (unsigned char)p[0] + (unsigned char)p[v ? v - 1 : 0];  // touch payload
    if (cb) cb(depth, p, v, ud);
    r->s += v + 2; return v;
  }
  if (t == '-') { fprintf(stderr, "redis error\n"); exit(1); }
  return v;  // '+' or ':'
}
static char *payload(int size) { char *p = malloc(size); memset(p, 'x', size); return p; }
static int cmpd(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static void pct(double *lat, long n) {
  qsort(lat, n, sizeof *lat, cmpd);
  printf("lat_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f (n=%ld)\n", lat[n / 2] * 1e6, lat[(long)(n * .9)] * 1e6,
         lat[(long)(n * .99)] * 1e6, lat[(long)(n * .999)] * 1e6, lat[n - 1] * 1e6, n);
}
static void cmd1(int fd, rd *r, const char *a, const char *b, const char *c) {
  wbuf w = {0}; warr(&w, c ? 3 : 2); wstr(&w, a); wstr(&w, b); if (c) wstr(&w, c); wflush(fd, &w); parse(r, 0, NULL, NULL); free(w.b);
}
static rd *newrd(int fd) { rd *r = calloc(1, sizeof *r); r->fd = fd; return r; }
// ---------- pub/sub ----------
static void subscribe(int sfd, rd *sr) { wbuf w = {0}; warr(&w, 2); wstr(&w, "SUBSCRIBE"); wstr(&w, "bench:ch"); wflush(sfd, &w); parse(sr, 0, NULL, NULL); }
static void pingpong(long n, int size, int paced_rate, double secs) {
  int sfd = conn(), pfd = conn(); rd *sr = newrd(sfd), *pr = newrd(pfd); subscribe(sfd, sr);
  char *pl = payload(size); wbuf w = {0};
  if (paced_rate) n = (long)(paced_rate * secs);
  double *lat = malloc(n * sizeof *lat), t0 = now(), next = t0;
  for (long i = 0; i < n; i++) {
    if (paced_rate) { next += 1.0 / paced_rate; while (now() < next) { double d = next - now(); if (d > 50e-6) { struct timespec ts = {0, (long)((d - 40e-6) * 1e9)}; nanosleep(&ts, NULL); } } }
    // Brook: a paced send is timed from its scheduled time (as EndToEnd.latency does), so a late
    // wake-up of the sender counts against the client, as it would in a service.
    double s = paced_rate ? next : now();
    warr(&w, 3); wstr(&w, "PUBLISH"); wstr(&w, "bench:ch"); wbulk(&w, pl, size); wflush(pfd, &w);
    parse(sr, 0, NULL, NULL);  // message arrives at subscriber
    lat[i] = now() - s;
    parse(pr, 0, NULL, NULL);  // publish reply
  }
  double el = now() - t0;
  printf("%s size=%d n=%ld msgs/s=%.0f\n", paced_rate ? "rate" : "pingpong", size, n, n / el);
  // Brook: the paced mode leaves out the first tenth as warm-up, as EndToEnd.latency does.
  if (paced_rate) pct(lat + n / 10, n - n / 10); else pct(lat, n);
}
struct subarg { int size; long n; double tlast; };
static void *subthr(void *a_) {
  struct subarg *a = a_; int sfd = conn(); rd *sr = newrd(sfd); subscribe(sfd, sr);
  a->tlast = -1; __atomic_store_n(&a->size, -a->size, __ATOMIC_SEQ_CST);  // signal ready
  for (long i = 0; i < a->n; i++) parse(sr, 0, NULL, NULL);
  a->tlast = now(); return NULL;
}
static void pubsub(long n, int size, int pipe) {
  struct subarg a = {size, n, 0}; pthread_t th; pthread_create(&th, NULL, subthr, &a);
  while (__atomic_load_n(&a.size, __ATOMIC_SEQ_CST) > 0) usleep(1000);
  int pfd = conn(); rd *pr = newrd(pfd); char *pl = payload(size); wbuf w = {0};
  double t0 = now();
  for (long i = 0; i < n; i += pipe) {
    int k = (n - i < pipe) ? n - i : pipe;
    for (int j = 0; j < k; j++) { warr(&w, 3); wstr(&w, "PUBLISH"); wstr(&w, "bench:ch"); wbulk(&w, pl, size); }
    wflush(pfd, &w);
    for (int j = 0; j < k; j++) if (parse(pr, 0, NULL, NULL) != 1) { fprintf(stderr, "no subscriber\n"); exit(1); }
  }
  double tp = now(); pthread_join(th, NULL);
  printf("pubsub size=%d pipe=%d n=%ld publish_msgs/s=%.0f e2e_msgs/s=%.0f\n", size, pipe, n, n / (tp - t0), n / (a.tlast - t0));
}
// ---------- list ----------
struct lcarg { int size; long n; double tlast; };
static void *listcons(void *a_) {
  struct lcarg *a = a_; int fd = conn(); rd *r = newrd(fd); wbuf w = {0}; long got = 0;
  while (got < a->n) {
    warr(&w, 3); wstr(&w, "RPOP"); wstr(&w, "bench:list"); wstr(&w, "100"); wflush(fd, &w);
    long k = parse(r, 0, NULL, NULL);
    if (k > 0) { got += k; continue; }
    warr(&w, 3); wstr(&w, "BRPOP"); wstr(&w, "bench:list"); wstr(&w, "0.1"); wflush(fd, &w);
    k = parse(r, 0, NULL, NULL); if (k == 2) got += 1;
  }
  a->tlast = now(); return NULL;
}
static void list(long n, int size, int batch) {
  int fd = conn(); rd *r = newrd(fd); cmd1(fd, r, "DEL", "bench:list", NULL);
  struct lcarg a = {size, n, 0}; pthread_t th; pthread_create(&th, NULL, listcons, &a);
  char *pl = payload(size); wbuf w = {0}; double t0 = now();
  for (long i = 0; i < n; i += batch) {
    int k = (n - i < batch) ? n - i : batch;
    warr(&w, 2 + k); wstr(&w, "LPUSH"); wstr(&w, "bench:list");
    for (int j = 0; j < k; j++) wbulk(&w, pl, size);
    wflush(fd, &w); parse(r, 0, NULL, NULL);
  }
  double tp = now(); pthread_join(th, NULL);
  printf("list size=%d batch=%d n=%ld produce_msgs/s=%.0f e2e_msgs/s=%.0f\n", size, batch, n, n / (tp - t0), n / (a.tlast - t0));
}
// ---------- stream ----------
struct ids { char (*id)[48]; int k; };
static void idcb(int depth, const char *p, long n, void *ud) { struct ids *x = ud; if (depth == 4 && n < 48) { memcpy(x->id[x->k], p, n); x->id[x->k][n] = 0; x->k++; } }
struct scarg { int size; long n; double tlast; };
static void *streamcons(void *a_) {
  struct scarg *a = a_; int fd = conn(); rd *r = newrd(fd); wbuf w = {0}; long got = 0;
  struct ids x = {malloc(100 * 48), 0}; int pendingack = 0;
  while (got < a->n) {
    if (x.k) {  // pipeline XACK for the previous batch with the next read
      warr(&w, 3 + x.k); wstr(&w, "XACK"); wstr(&w, "bench:stream"); wstr(&w, "g");
      for (int i = 0; i < x.k; i++) wstr(&w, x.id[i]);
      pendingack = 1;
    }
    warr(&w, 11); wstr(&w, "XREADGROUP"); wstr(&w, "GROUP"); wstr(&w, "g"); wstr(&w, "c1"); wstr(&w, "COUNT"); wstr(&w, "100");
    wstr(&w, "BLOCK"); wstr(&w, "100"); wstr(&w, "STREAMS"); wstr(&w, "bench:stream"); wstr(&w, ">");
    wflush(fd, &w);
    if (pendingack) { long acked = parse(r, 0, NULL, NULL); if (acked != x.k) { fprintf(stderr, "ack mismatch %ld/%d\n", acked, x.k); exit(1); } pendingack = 0; }
    x.k = 0; parse(r, 0, idcb, &x); got += x.k;
  }
  if (x.k) { warr(&w, 3 + x.k); wstr(&w, "XACK"); wstr(&w, "bench:stream"); wstr(&w, "g"); for (int i = 0; i < x.k; i++) wstr(&w, x.id[i]); wflush(fd, &w); parse(r, 0, NULL, NULL); }
  a->tlast = now(); return NULL;
}
static void stream(long n, int size, int pipe) {
  int fd = conn(); rd *r = newrd(fd); cmd1(fd, r, "DEL", "bench:stream", NULL);
  { wbuf w = {0}; warr(&w, 6); wstr(&w, "XGROUP"); wstr(&w, "CREATE"); wstr(&w, "bench:stream"); wstr(&w, "g"); wstr(&w, "$"); wstr(&w, "MKSTREAM"); wflush(fd, &w); parse(r, 0, NULL, NULL); }
  struct scarg a = {size, n, 0}; pthread_t th; pthread_create(&th, NULL, streamcons, &a);
  usleep(20000);
  char *pl = payload(size); wbuf w = {0}; double t0 = now();
  for (long i = 0; i < n; i += pipe) {
    int k = (n - i < pipe) ? n - i : pipe;
    for (int j = 0; j < k; j++) { warr(&w, 5); wstr(&w, "XADD"); wstr(&w, "bench:stream"); wstr(&w, "*"); wstr(&w, "f"); wbulk(&w, pl, size); }
    wflush(fd, &w); for (int j = 0; j < k; j++) parse(r, 0, NULL, NULL);
  }
  double tp = now(); pthread_join(th, NULL);
  wbuf q = {0}; warr(&q, 3); wstr(&q, "XPENDING"); wstr(&q, "bench:stream"); wstr(&q, "g"); wflush(fd, &q);
  char t; rline(r, &t); long pend = rline(r, &t); (void)pend;  // first element of XPENDING summary = count
  // drain rest of reply
  { char tt; long v = rline(r, &tt); if (tt == '$' && v >= 0) { while (r->e - r->s < (size_t)v + 2) fill(r); r->s += v + 2; } v = rline(r, &tt); if (tt == '$' && v >= 0) { while (r->e - r->s < (size_t)v + 2) fill(r); r->s += v + 2; } v = rline(r, &tt); if (tt == '*') for (long i = 0; i < v; i++) parse(r, 1, NULL, NULL); }
  printf("stream size=%d pipe=%d n=%ld produce_msgs/s=%.0f e2e_msgs/s=%.0f pending_after=%ld\n", size, pipe, n, n / (tp - t0), n / (a.tlast - t0), pend);
  cmd1(fd, r, "DEL", "bench:stream", NULL);
}
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "see header\n"); return 2; }
  PORT = atoi(argv[2]);
  if (!strcmp(argv[1], "pingpong")) pingpong(atol(argv[3]), atoi(argv[4]), 0, 0);
  else if (!strcmp(argv[1], "rate")) pingpong(0, atoi(argv[5]), atoi(argv[3]), atof(argv[4]));
  else if (!strcmp(argv[1], "pubsub")) pubsub(atol(argv[3]), atoi(argv[4]), atoi(argv[5]));
  else if (!strcmp(argv[1], "list")) list(atol(argv[3]), atoi(argv[4]), atoi(argv[5]));
  else if (!strcmp(argv[1], "stream")) stream(atol(argv[3]), atoi(argv[4]), atoi(argv[5]));
  return 0;
}
