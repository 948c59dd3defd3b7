#pragma once
// The kernel log and the console. Every line goes to the serial port whole:
// a lock keeps lines from different cores from interleaving.
//
//   Print("hello from cpu %u of %u\n", i, n);   // raw text, no prefix
//   Log(LogLevel::kInfo, "found %u cpus", n);   // "[  0.001234] cpu0 I found 4 cpus"
//
// The threshold comes from the kernel command line (`loglevel=debug|info|
// warn|error`, default info).

#include <cstdint>

namespace uk {

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };

void SetLogLevel(LogLevel level);
bool ParseLogLevel(const char* name, LogLevel* level);

void Print(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// For the panic path: takes the console even if a stopped core holds it.
void PrintForPanic(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace uk
