#include "kernel/drivers/virtio/mmio_devices.h"

namespace uk::virtio {
namespace {

// A C-syntax unsigned number (0x... hex, else decimal) from the front of
// *text; false if there are no digits or it overflows.
bool TakeNumber(std::string_view* text, uint64_t* out) {
  uint64_t value = 0, base = 10;
  size_t i = 0;
  if (text->size() > 2 && (*text)[0] == '0' && ((*text)[1] == 'x' || (*text)[1] == 'X')) {
    base = 16;
    i = 2;
  }
  const size_t first = i;
  for (; i < text->size(); ++i) {
    const char c = (*text)[i];
    uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<uint64_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') digit = static_cast<uint64_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') digit = static_cast<uint64_t>(c - 'A' + 10);
    else break;
    if (value > (UINT64_MAX - digit) / base) return false;
    value = value * base + digit;
  }
  if (i == first) return false;
  text->remove_prefix(i);
  *out = value;
  return true;
}

bool TakeChar(std::string_view* text, char c) {
  if (text->empty() || (*text)[0] != c) return false;
  text->remove_prefix(1);
  return true;
}

}  // namespace

bool ParseMmioDevice(std::string_view value, MmioDevice* out) {
  uint64_t size = 0, base = 0, irq = 0;
  if (!TakeNumber(&value, &size)) return false;
  if (!value.empty() && value[0] != '@') {
    const char suffix = value[0];
    const int shift = suffix == 'K' || suffix == 'k' ? 10 : suffix == 'M' || suffix == 'm' ? 20
                      : suffix == 'G' || suffix == 'g' ? 30 : -1;
    if (shift < 0 || size > (uint64_t{1} << (63 - shift))) return false;
    size <<= shift;
    value.remove_prefix(1);
  }
  if (!TakeChar(&value, '@') || !TakeNumber(&value, &base) || !TakeChar(&value, ':') ||
      !TakeNumber(&value, &irq)) {
    return false;
  }
  uint64_t id = 0;  // the optional platform device id: accepted, unused
  if (TakeChar(&value, ':') && !TakeNumber(&value, &id)) return false;
  if (!value.empty()) return false;
  if (size < 0x100 || size > (uint64_t{1} << 30) || base % 4 != 0 || base + size < base ||
      irq > 255) {
    return false;
  }
  *out = {base, size, static_cast<uint32_t>(irq)};
  return true;
}

}  // namespace uk::virtio
