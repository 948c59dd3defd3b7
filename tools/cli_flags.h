#pragma once
// Command-line flags for the host tools: abseil flags, set from argv through
// absl's reflection API rather than absl::ParseCommandLine, which (abseil
// 20220623) exits with status 1 on a bad flag where our tools give 1 another
// meaning. Accepts --name=value, --name value and -name=value; --help prints
// `intro` and the flags defined in the tool's own file.

#include <string>

namespace uk::tools {

// Sets every flag named in argv. A bad or unknown flag prints
// "<tool>: <what> (--help lists the flags)" and exits with `usage_status`;
// --help exits 0. Only flags defined in a file ending in `source_file` count.
void ParseToolFlags(int argc, char** argv, const char* tool, const char* source_file,
                    const char* intro, int usage_status);

// Prints "<tool>: <message> (--help lists the flags)" and exits with the
// status given to ParseToolFlags (2 if it was not called).
[[noreturn]] void UsageError(const std::string& message);

}  // namespace uk::tools
