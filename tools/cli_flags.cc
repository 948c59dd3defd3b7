#include "tools/cli_flags.h"

#include <cstdlib>
#include <map>
#include <string>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace uk::tools {
namespace {

const char* g_tool = "tool";
int g_usage_status = 2;

void PrintHelp(const char* source_file, const char* intro) {
  absl::PrintF("%s\n", intro);
  std::map<std::string, absl::CommandLineFlag*> ours;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), source_file)) ours[std::string(name)] = flag;
  }
  for (const auto& [name, flag] : ours) {
    absl::PrintF("  --%s=%s\n      %s\n", name, flag->DefaultValue(), flag->Help());
  }
}

}  // namespace

void UsageError(const std::string& message) {
  absl::FPrintF(stderr, "%s: %s (--help lists the flags)\n", g_tool, message);
  std::exit(g_usage_status);
}

void ParseToolFlags(int argc, char** argv, const char* tool, const char* source_file,
                    const char* intro, int usage_status) {
  g_tool = tool;
  g_usage_status = usage_status;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      PrintHelp(source_file, intro);
      std::exit(0);
    }
    if (!absl::ConsumePrefix(&arg, "-")) {
      UsageError(absl::StrFormat("unexpected argument '%s'", arg));
    }
    absl::ConsumePrefix(&arg, "-");
    absl::string_view name = arg.substr(0, arg.find('='));
    absl::string_view value;
    if (name.size() < arg.size()) {
      value = arg.substr(name.size() + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      UsageError(absl::StrFormat("--%s needs a value", name));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !absl::EndsWith(flag->Filename(), source_file)) {
      UsageError(absl::StrFormat("unknown flag --%s", name));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) UsageError(absl::StrFormat("--%s: %s", name, error));
  }
}

}  // namespace uk::tools
