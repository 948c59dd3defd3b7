#pragma once
// printf-style formatting into a caller's buffer, with no allocation and no
// libc: the kernel's log, panic and console use it, and it is portable so the
// host tests check it. Supported: %d %i %u %x %X %p %s %c %% with flags
// '-', '0', width, precision for %s (".4s", ".*s": prints string_views),
// and length modifiers l, ll, z. Unknown conversions are
// copied through verbatim so a bad format string is visible, not fatal.

#include <cstdarg>
#include <cstddef>

namespace uk {

// Writes at most `size - 1` characters and a terminating NUL (if size > 0).
// Returns the number of characters written, excluding the NUL.
size_t FormatV(char* buffer, size_t size, const char* format, va_list args);
size_t Format(char* buffer, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace uk
