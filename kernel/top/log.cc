#include "kernel/lib/log.h"

#include <cstdarg>

#include "kernel/arch/percpu.h"
#include "kernel/arch/spinlock.h"
#include "kernel/arch/tsc.h"
#include "kernel/drivers/serial.h"
#include "kernel/lib/format.h"

namespace uk {
namespace {

constexpr size_t kLineMax = 512;
SpinLock console_lock;
LogLevel threshold = LogLevel::kInfo;

void WriteLocked(const char* text, size_t length) {
  serial::Write(std::string_view(text, length));
}

struct Line {
  char text[kLineMax];
  size_t length;
};

Line FormatLine(const char* format, va_list args) {
  Line line;
  line.length = FormatV(line.text, sizeof(line.text), format, args);
  return line;
}

}  // namespace

void SetLogLevel(LogLevel level) { threshold = level; }

bool ParseLogLevel(const char* name, LogLevel* level) {
  struct Entry {
    const char* name;
    LogLevel level;
  };
  static constexpr Entry kLevels[] = {{"error", LogLevel::kError},
                                      {"warn", LogLevel::kWarn},
                                      {"info", LogLevel::kInfo},
                                      {"debug", LogLevel::kDebug}};
  for (const Entry& e : kLevels) {
    if (std::string_view(name) == e.name) {
      *level = e.level;
      return true;
    }
  }
  return false;
}

void Print(const char* format, ...) {
  va_list args;
  va_start(args, format);
  Line line = FormatLine(format, args);
  va_end(args);
  SpinLockGuard guard(console_lock);
  WriteLocked(line.text, line.length);
}

void Log(LogLevel level, const char* format, ...) {
  if (level > threshold) return;
  static constexpr char kLetters[] = {'E', 'W', 'I', 'D'};
  char line[kLineMax];
  uint64_t us = arch::NanosecondsSinceBoot() / 1000;
  size_t n = Format(line, sizeof(line), "[%4lu.%06lu] cpu%u %c ", us / 1000000, us % 1000000,
                    arch::CurrentCpuIndex(), kLetters[static_cast<int>(level)]);
  va_list args;
  va_start(args, format);
  n += FormatV(line + n, sizeof(line) - n - 1, format, args);
  va_end(args);
  line[n++] = '\n';
  SpinLockGuard guard(console_lock);
  WriteLocked(line, n);
}

void PrintForPanic(const char* format, ...) {
  va_list args;
  va_start(args, format);
  Line line = FormatLine(format, args);
  va_end(args);
  // Another core may have stopped while holding the lock; after a bounded
  // wait the panicking core writes anyway (and never unlocks what it did not
  // take).
  bool locked = console_lock.TryLockFor(1000000);
  WriteLocked(line.text, line.length);
  if (locked) console_lock.Unlock();
}

}  // namespace uk
