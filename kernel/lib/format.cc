#include "kernel/lib/format.h"

#include <cstdint>

namespace uk {
namespace {

class Writer {
 public:
  Writer(char* buffer, size_t size) : buffer_(buffer), size_(size) {}
  void Put(char c) {
    if (size_ != 0 && length_ + 1 < size_) buffer_[length_++] = c;
  }
  void Pad(char c, int count) {
    for (int i = 0; i < count; ++i) Put(c);
  }
  size_t Finish() {
    if (size_ != 0) buffer_[length_] = '\0';
    return length_;
  }

 private:
  char* buffer_;
  size_t size_;
  size_t length_ = 0;
};

struct Spec {
  bool left = false;
  bool zero = false;
  int width = 0;
  int precision = -1;  // %s only: at most this many characters
};

void PutPadded(Writer& out, const Spec& spec, const char* text, int length, bool negative) {
  int total = length + (negative ? 1 : 0);
  int padding = spec.width > total ? spec.width - total : 0;
  if (!spec.left && !spec.zero) out.Pad(' ', padding);
  if (negative) out.Put('-');
  if (!spec.left && spec.zero) out.Pad('0', padding);
  for (int i = 0; i < length; ++i) out.Put(text[i]);
  if (spec.left) out.Pad(' ', padding);
}

void PutNumber(Writer& out, const Spec& spec, uint64_t value, unsigned base, bool upper,
               bool negative) {
  char digits[24];
  int n = 0;
  const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = alphabet[value % base];
    value /= base;
  } while (value != 0);
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  PutPadded(out, spec, text, n, negative);
}

}  // namespace

size_t FormatV(char* buffer, size_t size, const char* format, va_list args) {
  Writer out(buffer, size);
  for (const char* p = format; *p != '\0'; ++p) {
    if (*p != '%') {
      out.Put(*p);
      continue;
    }
    const char* start = p++;
    Spec spec;
    for (;; ++p) {
      if (*p == '-') spec.left = true;
      else if (*p == '0') spec.zero = true;
      else break;
    }
    while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
    if (*p == '.') {
      ++p;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        ++p;
      }
      while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
    }
    int longs = 0;
    bool size_t_arg = false;
    while (*p == 'l') ++longs, ++p;
    if (*p == 'z') size_t_arg = true, ++p;
    auto unsigned_arg = [&]() -> uint64_t {
      if (size_t_arg) return va_arg(args, size_t);
      if (longs == 0) return va_arg(args, unsigned int);
      return va_arg(args, unsigned long long);
    };
    switch (*p) {
      case 'd':
      case 'i': {
        int64_t v = size_t_arg ? static_cast<int64_t>(va_arg(args, size_t))
                    : longs == 0 ? va_arg(args, int)
                                 : va_arg(args, long long);
        uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        PutNumber(out, spec, magnitude, 10, false, v < 0);
        break;
      }
      case 'u': PutNumber(out, spec, unsigned_arg(), 10, false, false); break;
      case 'x': PutNumber(out, spec, unsigned_arg(), 16, false, false); break;
      case 'X': PutNumber(out, spec, unsigned_arg(), 16, true, false); break;
      case 'p': {
        out.Put('0');
        out.Put('x');
        Spec hex{.left = false, .zero = true, .width = 16, .precision = -1};
        PutNumber(out, hex, reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16, false, false);
        break;
      }
      case 'c': {
        char c = static_cast<char>(va_arg(args, int));
        PutPadded(out, spec, &c, 1, false);
        break;
      }
      case 's': {
        const char* s = va_arg(args, const char*);
        if (s == nullptr) s = "(null)";
        int length = 0;
        while ((spec.precision < 0 || length < spec.precision) && s[length] != '\0') ++length;
        PutPadded(out, spec, s, length, false);
        break;
      }
      case '%': out.Put('%'); break;
      default:  // Unknown or truncated conversion: show it as written.
        for (const char* q = start; q <= p && *q != '\0'; ++q) out.Put(*q);
        if (*p == '\0') return out.Finish();
        break;
    }
  }
  return out.Finish();
}

size_t Format(char* buffer, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  size_t n = FormatV(buffer, size, format, args);
  va_end(args);
  return n;
}

}  // namespace uk
