#pragma once
// 16550 UART on COM1, polled. The console is the only user; it serializes
// writers (kernel/core/console.h), so this driver keeps no state.

#include <string_view>

namespace uk::serial {

void Init();
void Write(std::string_view text);  // Translates "\n" into "\r\n".

}  // namespace uk::serial
