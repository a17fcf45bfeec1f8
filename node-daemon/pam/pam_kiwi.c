/*
 * pam_kiwi: Kiwi's PAM account check and session adoption, as a PAM module (as Slurm's
 * pam_slurm_adopt is), so that nothing is exec'd at login: no shell, no helper program, nothing
 * that a user's environment (~/.pam_environment read by `pam_env user_readenv=1`, LD_PRELOAD
 * and the like) could reach while it runs as root. Built on the node at install time
 * (`kiwictl node install`, `kiwictl node install-pam`: gcc and libpam0g-dev) from this file.
 *
 *   account [success=1 default=ignore] pam_succeed_if.so quiet uid eq 0
 *   account required /usr/lib/kiwi/pam_kiwi.so
 *   session optional /usr/lib/kiwi/pam_kiwi.so        (optional, last in the session stack)
 *
 * Account, in this order:
 *   1. root: allowed, before anything can fail.
 *   2. a user name that is not [A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}: refused.
 *   3. the bypass file kiwi-node-daemon keeps current: a listed user is allowed without asking
 *      the daemon. Used only if it is a regular file (not a symlink), owned by root and not
 *      writable by group or others.
 *   4. the daemon, over its Unix socket, within a hard time limit: "allow ..." or "deny REASON"
 *      is final (REASON is shown to the user only if it is printable ASCII). The socket is used
 *      only if it is a socket owned by root in a directory owned by root that nobody else may
 *      write, under ancestors that are root-owned and not writable by others (sticky /tmp
 *      excepted): a socket a user put there is never asked.
 *   5. no answer (daemon stopped, hung, socket missing or untrusted): a user with a uid below
 *      the file's minuid is allowed; everyone else follows the file's failmode (closed, the
 *      default and the value when the file is missing, refuses; open allows).
 * Session open: for a user not in the bypass file, asks the daemon "adopt USER PID" with this
 * process's pid (the sshd process opening the session, whose later children are the login), so
 * that the login lands in its booking's cgroup; the reply is ignored and a session is never
 * refused. Auth and password: refused, so that a line put in the wrong stack is no way in.
 *
 * Arguments (only in the PAM line): --socket=PATH (default /run/kiwi/pam.sock),
 * --bypass-file=PATH (default /var/lib/kiwi/pam-bypass), --timeout=SECONDS (default 2,
 * decimals allowed, at most 30). An unknown or malformed argument means "no answer" (step 5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_AUTH
#define PAM_SM_PASSWORD
#include <security/pam_modules.h>
#include <security/pam_ext.h>

#define MAX_NAME 64
#define REPLY_MAX 512

struct opts {
  const char *socket;
  const char *bypass;
  long timeout_ms;
  int broken;
};

static int plain_path(const char *p) {
  if (p[0] != '/' || strstr(p, "..")) return 0;
  for (const char *c = p; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '/' || *c == '.' || *c == '_' || *c == '-')) return 0;
  return strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path);
}

static long parse_timeout(const char *s) {
  /* seconds with up to 3 decimals, > 0 and <= 30; -1 if malformed */
  long whole = 0, frac = 0, scale = 1000;
  const char *c = s;
  if (!*c) return -1;
  for (; *c >= '0' && *c <= '9'; c++) {
    whole = whole * 10 + (*c - '0');
    if (whole > 30) return -1;
  }
  if (*c == '.') {
    c++;
    if (!*c) return -1;
    for (; *c >= '0' && *c <= '9'; c++) {
      if (scale > 1) {
        scale /= 10;
        frac += (*c - '0') * scale;
      }
    }
  }
  if (*c) return -1;
  long ms = whole * 1000 + frac;
  return ms > 0 && ms <= 30000 ? ms : -1;
}

static void parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct opts *o) {
  o->socket = "/run/kiwi/pam.sock";
  o->bypass = "/var/lib/kiwi/pam-bypass";
  o->timeout_ms = 2000;
  o->broken = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strncmp(a, "--socket=", 9) && plain_path(a + 9)) o->socket = a + 9;
    else if (!strncmp(a, "--bypass-file=", 14) && plain_path(a + 14)) o->bypass = a + 14;
    else if (!strncmp(a, "--timeout=", 10) && parse_timeout(a + 10) > 0) o->timeout_ms = parse_timeout(a + 10);
    else {
      pam_syslog(pamh, LOG_ERR, "kiwi: bad argument (see pam_kiwi.c): %.80s", a);
      o->broken = 1;
    }
  }
}

static int valid_user(const char *u) {
  size_t n = strlen(u);
  if (n == 0 || n > MAX_NAME) return 0;
  if (!((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z') || (u[0] >= '0' && u[0] <= '9') || u[0] == '_')) return 0;
  for (size_t i = 1; i < n; i++) {
    char c = u[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-')) return 0;
  }
  return 1;
}

/* A directory that only root can change: owned by root, not writable by group or others
 * (a root-owned sticky directory, such as /tmp, is allowed above the socket's own directory). */
static int root_dir(const char *path, int allow_sticky) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0) return 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return 1;
  return allow_sticky && (st.st_mode & S_ISVTX);
}

/* The socket is the daemon's: a socket owned by root, in a root-only directory, under
 * root-owned ancestors. */
static int trusted_socket(pam_handle_t *pamh, const char *path) {
  struct stat st;
  char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (lstat(path, &st) != 0) return 0; /* absent: the daemon is not running */
  if (!S_ISSOCK(st.st_mode) || st.st_uid != 0) {
    pam_syslog(pamh, LOG_ERR, "kiwi: %s is not a socket owned by root; not asking it", path);
    return 0;
  }
  snprintf(buf, sizeof buf, "%s", path);
  for (int first = 1;; first = 0) {
    char *slash = strrchr(buf, '/');
    if (!slash) return 0;
    if (slash == buf) slash[1] = 0; /* keep "/" */
    else *slash = 0;
    if (!root_dir(buf, !first)) {
      pam_syslog(pamh, LOG_ERR, "kiwi: %s (holding %s) is not owned by root or is writable by others; not asking the socket", buf, path);
      return 0;
    }
    if (!strcmp(buf, "/")) break;
  }
  return 1;
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* One exchange with the daemon within the deadline: sends `req`, reads one line into `out`.
 * Returns the reply's length, or -1 when there was no (complete) reply. */
static int ask(pam_handle_t *pamh, const struct opts *o, const char *req, char *out, size_t outsz) {
  if (o->broken || !trusted_socket(pamh, o->socket)) return -1;
  long deadline = now_ms() + o->timeout_ms;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", o->socket);
  int n = -1;
  size_t sent = 0, len = strlen(req), got = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS && errno != EAGAIN) goto out;
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) goto out;
    struct pollfd p = { .fd = fd, .events = sent < len ? POLLOUT : POLLIN };
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) goto out;
    if (sent < len) {
      ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (w <= 0) goto out;
      sent += (size_t)w;
      continue;
    }
    ssize_t rd = recv(fd, out + got, outsz - 1 - got, 0);
    if (rd < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (rd <= 0) goto out; /* closed without a full line: cannot decide */
    got += (size_t)rd;
    out[got] = 0;
    char *nl = memchr(out, '\n', got);
    if (nl) {
      *nl = 0;
      n = (int)(nl - out);
      goto out;
    }
    if (got >= outsz - 1) goto out;
  }
out:
  close(fd);
  return n;
}

struct bypass {
  int listed;
  int failopen;
  long minuid;
};

/* Reads the bypass file if it is a root-owned regular file nobody else may write. */
static void read_bypass(const char *path, const char *user, struct bypass *b) {
  b->listed = 0;
  b->failopen = 0;
  b->minuid = 1000;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size > 1 << 20) {
    close(fd);
    return;
  }
  FILE *f = fdopen(fd, "r");
  if (!f) {
    close(fd);
    return;
  }
  char line[256];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *val = strchr(line, ' ');
    if (!val) continue;
    *val++ = 0;
    if (!strcmp(line, "allow") && !strcmp(val, user)) b->listed = 1;
    else if (!strcmp(line, "failmode")) {
      if (!strcmp(val, "open")) b->failopen = 1;
      else if (!strcmp(val, "closed")) b->failopen = 0;
    } else if (!strcmp(line, "minuid") && val[0] && strspn(val, "0123456789") == strlen(val) && strlen(val) < 10) b->minuid = atol(val);
  }
  fclose(f);
}

static int printable(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < ' ' || *s > '~') return 0;
  return 1;
}

static const char *user_of(pam_handle_t *pamh) {
  const char *u = NULL;
  if (pam_get_item(pamh, PAM_USER, (const void **)&u) != PAM_SUCCESS || !u) return NULL;
  return u;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  struct opts o;
  parse_opts(pamh, argc, argv, &o);
  const char *user = user_of(pamh);
  if (user && !strcmp(user, "root")) return PAM_SUCCESS;
  if (!user || !valid_user(user)) {
    pam_info(pamh, "%s", "kiwi: invalid user name");
    return PAM_PERM_DENIED;
  }
  struct bypass b;
  read_bypass(o.bypass, user, &b);
  if (b.listed) return PAM_SUCCESS;

  char req[MAX_NAME + 2], reply[REPLY_MAX];
  snprintf(req, sizeof req, "%s\n", user);
  if (ask(pamh, &o, req, reply, sizeof reply) >= 0) {
    if (!strcmp(reply, "allow") || !strncmp(reply, "allow ", 6)) return PAM_SUCCESS;
    if (!strncmp(reply, "deny ", 5)) {
      const char *reason = reply + 5;
      pam_info(pamh, "%s", printable(reason) ? reason : "kiwi: login refused by the node's booking daemon");
      return PAM_PERM_DENIED;
    }
  }
  /* no answer: system users, then the fail mode */
  struct passwd pw, *res = NULL;
  char pwbuf[4096];
  if (getpwnam_r(user, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res && (long)res->pw_uid < b.minuid) return PAM_SUCCESS;
  if (b.failopen) return PAM_SUCCESS;
  pam_info(pamh, "%s", "kiwi: the booking daemon of this node is not answering, so only administrators may log in now; try again in a minute or tell your administrators.");
  return PAM_PERM_DENIED;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  struct opts o;
  parse_opts(pamh, argc, argv, &o);
  const char *user = user_of(pamh);
  if (!user || !strcmp(user, "root") || !valid_user(user)) return PAM_SUCCESS;
  struct bypass b;
  read_bypass(o.bypass, user, &b);
  if (b.listed) return PAM_SUCCESS; /* never adopted, and a hung daemon cannot slow their logins */
  char req[MAX_NAME + 32], reply[REPLY_MAX];
  snprintf(req, sizeof req, "adopt %s %ld\n", user, (long)getpid());
  (void)ask(pamh, &o, req, reply, sizeof reply);
  return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh; (void)flags; (void)argc; (void)argv;
  return PAM_SUCCESS;
}

/* Not an authentication module: refuse, so that "auth sufficient pam_kiwi.so" is no way in. */
PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags; (void)argc; (void)argv;
  pam_syslog(pamh, LOG_ERR, "kiwi: pam_kiwi.so is for the account and session stacks only");
  return PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh; (void)flags; (void)argc; (void)argv;
  return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags; (void)argc; (void)argv;
  pam_syslog(pamh, LOG_ERR, "kiwi: pam_kiwi.so is for the account and session stacks only");
  return PAM_AUTHTOK_ERR;
}
