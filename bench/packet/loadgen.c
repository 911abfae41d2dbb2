/*
 * loadgen: a tiny load generator for the per-packet benchmark (bench/packet.ts).
 * Node is too slow and too noisy to show the cost of a ruleset per packet; this is not.
 *
 *   loadgen server MODE ADDR PORT           serve until killed; prints "ready" once listening
 *   loadgen client MODE ADDR PORT SECONDS   run for SECONDS; prints "<operations> <seconds> <cpu>",
 *                                           cpu = the client's user + system CPU seconds
 *
 * MODE:
 *   conn    TCP connection rate: connect, read the server's 1-byte greeting, close (like netperf
 *           TCP_CRR with a 1-byte response). The client sets SO_LINGER {1, 0}, so its close is an
 *           abort (RST): no TIME_WAIT on either side, so ephemeral ports never run out, and as the
 *           RST goes in the original direction, conntrack treats a reused port's next SYN as a
 *           new connection (after a server-side RST it would reopen the old entry, not "new").
 *           Waiting for the greeting keeps the client from outrunning accept(). One operation =
 *           SYN, SYN-ACK, ACK, greeting, RST (plus an ACK): one new conntrack entry.
 *   tcprr   1-byte request/response on one TCP connection (TCP_NODELAY), like netperf TCP_RR.
 *   udprr   the same over one connected UDP socket. A lost datagram (100 ms timeout) is
 *           counted on stderr and resent; on loopback none should be lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_abort_on_close(int fd) {
  struct linger l = {1, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0) die("SO_LINGER");
}

static void set_nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY");
}

__attribute__((noreturn)) static void serve(const char *mode, struct sockaddr_in *addr) {
  int udp = strcmp(mode, "udprr") == 0;
  int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  int one = 1;
  char byte = 'x';
  if (fd < 0) die("socket");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)addr, sizeof *addr) < 0) die("bind");
  if (!udp && listen(fd, 1024) < 0) die("listen");
  printf("ready\n");
  fflush(stdout);
  if (udp) {
    for (;;) {
      struct sockaddr_in peer;
      socklen_t len = sizeof peer;
      if (recvfrom(fd, &byte, 1, 0, (struct sockaddr *)&peer, &len) == 1)
        sendto(fd, &byte, 1, 0, (struct sockaddr *)&peer, len);
    }
  }
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    if (strcmp(mode, "conn") == 0) {
      if (write(c, &byte, 1) == 1) {
        while (read(c, &byte, 1) > 0) {
        } /* 0 or ECONNRESET: the client has aborted */
      }
      close(c);
      continue;
    }
    set_nodelay(c);
    while (read(c, &byte, 1) == 1 && write(c, &byte, 1) == 1) {
    }
    close(c);
  }
}

/* A connected socket, or -1 if the peer reset the attempt (counted and reported, not fatal). */
static int connected(int type, struct sockaddr_in *addr) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) die("socket");
  if (type == SOCK_STREAM) set_abort_on_close(fd);
  if (connect(fd, (struct sockaddr *)addr, sizeof *addr) == 0) return fd;
  if (errno != ECONNRESET) die("connect");
  close(fd);
  return -1;
}

static int client(const char *mode, struct sockaddr_in *addr, double seconds) {
  long ops = 0, lost = 0, resets = 0;
  char byte = 'x';
  double start = now(), end = start + seconds, t = start;
  if (strcmp(mode, "conn") == 0) {
    for (; t < end; t = now()) {
      int fd = connected(SOCK_STREAM, addr);
      if (fd < 0) {
        resets++;
        continue;
      }
      if (read(fd, &byte, 1) == 1) ops++;
      close(fd); /* abort: RST */
    }
  } else {
    int udp = strcmp(mode, "udprr") == 0;
    int fd = connected(udp ? SOCK_DGRAM : SOCK_STREAM, addr);
    if (fd < 0) die("connect");
    struct timeval timeout = {0, 100000};
    if (udp) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    else set_nodelay(fd);
    for (; t < end; t = now()) {
      if (write(fd, &byte, 1) != 1) die("write");
      if (read(fd, &byte, 1) == 1) ops++;
      else if (udp && errno == EAGAIN) lost++;
      else die("read");
    }
    close(fd);
  }
  if (lost) fprintf(stderr, "loadgen: %ld datagrams lost\n", lost);
  if (resets) fprintf(stderr, "loadgen: %ld connection attempts reset (not counted)\n", resets);
  /* CPU time is what a ruleset costs on a shared machine: the output hook (where new connections
   * are looked up) runs in the client's connect(), and CPU time is less bent by other loads than
   * the rate is. */
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  printf("%ld %.6f %.6f\n", ops, t - start, cpu);
  return 0;
}

int main(int argc, char **argv) {
  struct sockaddr_in addr = {.sin_family = AF_INET};
  if (argc < 5 || inet_pton(AF_INET, argv[3], &addr.sin_addr) != 1) {
    fprintf(stderr, "usage: loadgen server|client conn|tcprr|udprr ADDR PORT [SECONDS]\n");
    return 2;
  }
  addr.sin_port = htons(atoi(argv[4]));
  if (strcmp(argv[1], "server") == 0) serve(argv[2], &addr); /* never returns */
  if (argc < 6) return 2;
  return client(argv[2], &addr, atof(argv[5]));
}
