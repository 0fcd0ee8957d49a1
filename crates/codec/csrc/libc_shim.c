/* nalcast: the few C library functions OpenH264's decoder calls on wasm32, written for nalcast.
 *
 * wasi-libc's libc.a is deliberately not linked (it imports WASI's fd_write and friends). Memory
 * (malloc/free/new/delete) and the thread library are provided from Rust (src/wasm/); this file has
 * formatting for log messages (vsnprintf), stdio as no-ops (OpenH264 only writes debug dumps with
 * it), time queries that report zero, and a non-fatal __assert_fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* ---- formatting ------------------------------------------------------------------------------ */

struct out {
  char *buf;
  size_t cap; /* bytes available for characters (excluding the terminating NUL) */
  size_t len; /* characters that would have been written */
};

static void put(struct out *o, char c) {
  if (o->len < o->cap) o->buf[o->len] = c;
  o->len++;
}

static void pad(struct out *o, char c, int n) {
  while (n-- > 0) put(o, c);
}

static void put_uint(struct out *o, uint64_t v, unsigned base, int upper, int neg, char sign, int width,
                     int prec, int left, int zero, int alt) {
  char tmp[24];
  int n = 0;
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  if (v == 0 && prec != 0) tmp[n++] = '0';
  while (v) {
    tmp[n++] = digits[v % base];
    v /= base;
  }
  int zeros = prec > n ? prec - n : 0;
  char prefix[3];
  int np = 0;
  if (neg) prefix[np++] = '-';
  else if (sign) prefix[np++] = sign;
  if (alt && base == 16 && n) {
    prefix[np++] = '0';
    prefix[np++] = upper ? 'X' : 'x';
  }
  int total = np + zeros + n;
  int fill = width > total ? width - total : 0;
  if (!left && !(zero && prec < 0)) pad(o, ' ', fill);
  for (int i = 0; i < np; i++) put(o, prefix[i]);
  if (!left && zero && prec < 0) pad(o, '0', fill);
  pad(o, '0', zeros);
  while (n) put(o, tmp[--n]);
  if (left) pad(o, ' ', fill);
}

static void put_float(struct out *o, double d, int width, int prec, int left, char sign) {
  char tmp[48];
  int n = 0;
  int neg = d < 0;
  if (neg) d = -d;
  if (prec < 0) prec = 6;
  if (prec > 9) prec = 9;
  if (!(d == d)) {
    tmp[n++] = 'n', tmp[n++] = 'a', tmp[n++] = 'n';
  } else if (d > 1e18) {
    tmp[n++] = 'f', tmp[n++] = 'n', tmp[n++] = 'i';
  } else {
    uint64_t scale = 1;
    for (int i = 0; i < prec; i++) scale *= 10;
    uint64_t whole = (uint64_t)d;
    uint64_t frac = (uint64_t)((d - (double)whole) * (double)scale + 0.5);
    if (frac >= scale) {
      whole++;
      frac -= scale;
    }
    for (int i = 0; i < prec; i++) {
      tmp[n++] = (char)('0' + frac % 10);
      frac /= 10;
    }
    if (prec) tmp[n++] = '.';
    do {
      tmp[n++] = (char)('0' + whole % 10);
      whole /= 10;
    } while (whole && n < (int)sizeof tmp - 1);
  }
  int total = n + (neg || sign);
  int fill = width > total ? width - total : 0;
  if (!left) pad(o, ' ', fill);
  if (neg) put(o, '-');
  else if (sign) put(o, sign);
  while (n) put(o, tmp[--n]);
  if (left) pad(o, ' ', fill);
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap) {
  struct out o = {buf, size ? size - 1 : 0, 0};
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      put(&o, *p);
      continue;
    }
    p++;
    int left = 0, zero = 0, alt = 0;
    char sign = 0;
    for (;; p++) {
      if (*p == '-') left = 1;
      else if (*p == '0') zero = 1;
      else if (*p == '+') sign = '+';
      else if (*p == ' ') { if (!sign) sign = ' '; }
      else if (*p == '#') alt = 1;
      else break;
    }
    int width = 0;
    if (*p == '*') {
      width = va_arg(ap, int);
      if (width < 0) left = 1, width = -width;
      p++;
    } else {
      while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    }
    int prec = -1;
    if (*p == '.') {
      p++;
      prec = 0;
      if (*p == '*') {
        prec = va_arg(ap, int);
        p++;
      } else {
        while (*p >= '0' && *p <= '9') prec = prec * 10 + (*p++ - '0');
      }
    }
    int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t/intmax/ptrdiff */
    for (;; p++) {
      if (*p == 'l') lng = lng == 1 ? 2 : 1;
      else if (*p == 'h') lng = lng == -1 ? -2 : -1;
      else if (*p == 'z' || *p == 't') lng = 1;
      else if (*p == 'j' || *p == 'q' || *p == 'L') lng = 2;
      else break;
    }
    switch (*p) {
    case 'd':
    case 'i': {
      int64_t v = lng == 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
      if (lng == -1) v = (short)v;
      if (lng == -2) v = (signed char)v;
      uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
      put_uint(&o, mag, 10, 0, v < 0, sign, width, prec, left, zero, 0);
      break;
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
      uint64_t v = lng == 2   ? va_arg(ap, unsigned long long)
                   : lng == 1 ? va_arg(ap, unsigned long)
                              : va_arg(ap, unsigned int);
      if (lng == -1) v = (unsigned short)v;
      if (lng == -2) v = (unsigned char)v;
      unsigned base = *p == 'u' ? 10 : *p == 'o' ? 8 : 16;
      put_uint(&o, v, base, *p == 'X', 0, 0, width, prec, left, zero, alt);
      break;
    }
    case 'p':
      put_uint(&o, (uintptr_t)va_arg(ap, void *), 16, 0, 0, 0, width, -1, left, 0, 1);
      break;
    case 'c': {
      int fill = width > 1 ? width - 1 : 0;
      if (!left) pad(&o, ' ', fill);
      put(&o, (char)va_arg(ap, int));
      if (left) pad(&o, ' ', fill);
      break;
    }
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      int n = 0;
      while (s[n] && (prec < 0 || n < prec)) n++;
      int fill = width > n ? width - n : 0;
      if (!left) pad(&o, ' ', fill);
      for (int i = 0; i < n; i++) put(&o, s[i]);
      if (left) pad(&o, ' ', fill);
      break;
    }
    case 'f':
    case 'F':
    case 'g':
    case 'e':
      put_float(&o, va_arg(ap, double), width, prec, left, sign);
      break;
    case '%':
      put(&o, '%');
      break;
    case '\0':
      p--; /* a lone '%' at the end */
      break;
    default:
      put(&o, '%');
      put(&o, *p);
    }
  }
  if (size) buf[o.len < size ? o.len : size - 1] = '\0';
  return (int)o.len;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

char *strncpy(char *restrict dst, const char *restrict src, size_t n) {
  size_t i = 0;
  for (; i < n && src[i]; i++) dst[i] = src[i];
  for (; i < n; i++) dst[i] = '\0';
  return dst;
}

/* ---- stdio: OpenH264 only opens files for optional debug dumps; nothing is ever written ------- */

FILE *const stderr = NULL;
FILE *fopen(const char *restrict path, const char *restrict mode) { return NULL; }
int fclose(FILE *f) { return 0; }
int fflush(FILE *f) { return 0; }
int fseek(FILE *f, long off, int whence) { return -1; }
size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f) { return 0; }
int fprintf(FILE *restrict f, const char *restrict fmt, ...) { return 0; }

/* ---- time: only used to timestamp log lines and measure decode time in debug statistics ------- */

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  if (tv) tv->tv_sec = 0, tv->tv_usec = 0;
  return 0;
}

static struct tm nalcast_zero_tm;
struct tm *localtime(const time_t *t) { return &nalcast_zero_tm; }

size_t strftime(char *restrict s, size_t max, const char *restrict fmt, const struct tm *restrict tm) {
  if (max) s[0] = '\0';
  return 0;
}

/* ---- assertions: compiled out with NDEBUG; if one is ever reached, log and carry on ----------- */

extern void nalcast_codec_log(int level, const char *message);

void __assert_fail(const char *expr, const char *file, int line, const char *func) {
  char msg[256];
  snprintf(msg, sizeof msg, "OpenH264 assertion failed: %s (%s:%d)", expr, file, line);
  nalcast_codec_log(1, msg);
}
