/*
 * The seam between lwIP and whoever links it: four functions that the user
 * of //third_party/lwip:lwip must define (the kernel's net service for the
 * kernel, lwip_test_support.cc for the host test). The port only declares
 * them; lwIP calls them through the macros in arch/cc.h.
 *
 *   u32_t sys_now(void)
 *       Milliseconds from any fixed origin, wrapping at 2^32. lwIP's timers
 *       (sys_check_timeouts(): TCP 250 ms timer, ARP, DHCP, reassembly)
 *       compare differences of it, so it only has to be monotonic. lwIP's
 *       own header lwip/sys.h declares it too, with the same signature.
 *   u32_t uk_lwip_rand(void)
 *       LWIP_RAND(): DHCP transaction ids, initial local ports. Need not be
 *       cryptographic; it must differ between boots for DHCP to behave.
 *   void uk_lwip_diag(const char* format, ...)
 *       LWIP_PLATFORM_DIAG(): printf-style diagnostics (only with
 *       LWIP_DEBUG or stats display; silent in the default configuration).
 *       Formats use only d, u, x, s, c, p and the z modifier (see arch/cc.h).
 *   void uk_lwip_assert(const char* message, const char* file, int line)
 *       LWIP_PLATFORM_ASSERT(): an lwIP invariant failed. Must not return.
 *
 * Threading: lwIP is built with NO_SYS=1 and SYS_LIGHTWEIGHT_PROT=0. Every
 * lwIP call (input, timers, the raw API, these hooks) must happen on one
 * thread, or under one lock the user holds; lwIP itself locks nothing.
 */
#ifndef UK_LWIP_PORT_H_
#define UK_LWIP_PORT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t sys_now(void);
uint32_t uk_lwip_rand(void);
void uk_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
void uk_lwip_assert(const char* message, const char* file, int line)
    __attribute__((noreturn));

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* UK_LWIP_PORT_H_ */
