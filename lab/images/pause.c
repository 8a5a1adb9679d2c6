/* The lab's sandbox process: what Kubernetes' pause does, for an image built on the machine
 * (no registry is reachable). It holds the sandbox's namespaces, reaps the children it
 * inherits as PID 1, and exits 0 on SIGINT or SIGTERM (StopPodSandbox). Built static so the
 * image needs nothing else: gcc -static -Os -o pause pause.c */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term (int sig) { (void)sig; _exit(0); }

static void on_child (int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main (void) {
  struct sigaction term = { .sa_handler = on_term };
  struct sigaction child = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP };
  if (sigaction(SIGINT, &term, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0) return 1;
  for (;;) pause();
}
