#include "kernel/lib/cmdline.h"

namespace uk {

CommandLine::CommandLine(std::string_view text) {
  truncated_ = text.size() > kMaxLength;
  length_ = truncated_ ? kMaxLength : text.size();
  for (size_t i = 0; i < length_; ++i) text_[i] = text[i];
}

bool CommandLine::Find(std::string_view key, std::string_view* value) const {
  bool found = false;
  std::string_view rest = text();
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find(' ');
    std::string_view word = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    size_t equals = word.find('=');
    std::string_view name = word.substr(0, equals);
    if (name == key) {
      found = true;  // keep going: the last occurrence wins
      *value = equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
    }
  }
  return found;
}

std::string_view CommandLine::Get(std::string_view key, std::string_view fallback) const {
  std::string_view value;
  return Find(key, &value) ? value : fallback;
}

bool CommandLine::Has(std::string_view key) const {
  std::string_view ignored;
  return Find(key, &ignored);
}

uint64_t CommandLine::GetNumber(std::string_view key, uint64_t fallback,
                                bool* malformed) const {
  std::string_view value;
  if (!Find(key, &value)) return fallback;
  uint64_t number = 0;
  bool ok = !value.empty() && value.size() <= 19;  // 19 digits cannot overflow
  for (char c : value) {
    if (c < '0' || c > '9') ok = false;
    else number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok && malformed != nullptr) *malformed = true;
  return ok ? number : fallback;
}

}  // namespace uk
