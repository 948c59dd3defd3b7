/*
 * lwIP's architecture header for this project: x86-64, GCC, little endian,
 * the same for the host test and the freestanding kernel. It needs only
 * <stddef.h> and <stdint.h>, which GCC provides in both worlds, so the
 * headers lwIP exports to its users never reach for libc.
 */
#ifndef UK_LWIP_ARCH_CC_H_
#define UK_LWIP_ARCH_CC_H_

#include <stddef.h>
#include <stdint.h>

#include "uk_lwip_port.h"

#define BYTE_ORDER LITTLE_ENDIAN

/* Platform hooks, defined by the user of the library (uk_lwip_port.h). */
#define LWIP_RAND() ((u32_t)uk_lwip_rand())
#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    uk_lwip_diag x;           \
  } while (0)
#define LWIP_PLATFORM_ASSERT(message) uk_lwip_assert((message), __FILE__, __LINE__)

/*
 * No <inttypes.h>: the kernel has none, and its formatter (kernel/lib/
 * format.h) knows d, u, x and the l/ll/z modifiers but not h/hh. u8_t and
 * u16_t are promoted to int through varargs, u32_t is unsigned int here.
 */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* lwIP's own isdigit/isspace/... macros instead of <ctype.h>. */
#define LWIP_NO_CTYPE_H 1

/*
 * No <limits.h> and no <unistd.h>. lwIP wants ssize_t (etharp_find_addr
 * returns one) and would typedef it as int unless SSIZE_MAX is defined, while
 * glibc makes it long: declare it as glibc does, so the type is the same in
 * every translation unit whichever headers it includes first (C11 and C++
 * allow a typedef to be repeated with the same type; glibc defines SSIZE_MAX
 * only if it is not yet defined).
 */
#define LWIP_NO_LIMITS_H 1
#define LWIP_NO_UNISTD_H 1
typedef long ssize_t;  /* NOLINT: must match glibc's name and type. */
#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif

#endif  /* UK_LWIP_ARCH_CC_H_ */
