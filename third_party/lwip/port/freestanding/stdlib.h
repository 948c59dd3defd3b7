/*
 * <stdlib.h> for lwIP in the freestanding kernel build only. lwIP's netif.c
 * includes it for atoi() (netif_find("en0") parses the number); nothing
 * else from stdlib is used. The kernel runtime has no atoi, so it is
 * defined here, static: it exists only inside lwIP's own objects and cannot
 * collide with a libc function the kernel may add later.
 */
#ifndef UK_LWIP_FREESTANDING_STDLIB_H_
#define UK_LWIP_FREESTANDING_STDLIB_H_

static inline int atoi(const char* s) {
  int negative = 0;
  unsigned value = 0; /* unsigned: overflow wraps instead of being undefined */
  while (*s == ' ' || (*s >= '\t' && *s <= '\r')) ++s;
  if (*s == '+' || *s == '-') {
    negative = *s == '-';
    ++s;
  }
  while (*s >= '0' && *s <= '9') {
    value = value * 10u + (unsigned)(*s - '0');
    ++s;
  }
  return (int)(negative ? 0u - value : value);
}

#endif /* UK_LWIP_FREESTANDING_STDLIB_H_ */
