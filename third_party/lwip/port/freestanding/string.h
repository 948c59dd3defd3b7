/*
 * <string.h> for lwIP in the freestanding kernel build only (the host build
 * uses libc's). It declares exactly what lwIP's core, IPv4, Ethernet and
 * DHCP code calls. kernel/mm/cxx_runtime.cc defines the mem* functions and
 * strlen; strncmp (lwip_strnstr in def.c) it lacks, so it is defined here,
 * static: it exists only inside lwIP's own objects and cannot collide with a
 * strncmp the kernel may add later. Anything else lwIP starts calling fails
 * to compile (-Werror=implicit-function-declaration in
 * //third_party/lwip:lwip), not to link.
 */
#ifndef UK_LWIP_FREESTANDING_STRING_H_
#define UK_LWIP_FREESTANDING_STRING_H_

#include <stddef.h>

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);
size_t strlen(const char* s);

static inline int strncmp(const char* a, const char* b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    if (*a == '\0') return 0;
  }
  return 0;
}

#endif /* UK_LWIP_FREESTANDING_STRING_H_ */
