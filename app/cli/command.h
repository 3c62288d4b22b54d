#pragma once
// Each `bigbird <name>` subcommand lives in its own file and registers itself here:
//   static const bb::cli::Registrar reg{{"tokenize", "Tokenize text ...", usage, run_tokenize}};
#include <string>
#include <vector>

namespace bb::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `bigbird --help`
  std::string usage;    // full text for `bigbird <name> --help`
  int (*run)(const std::vector<std::string>& args);  // args exclude the program and command name
};

struct Registrar {
  explicit Registrar(Command command);
};

const std::vector<Command>& commands();

}  // namespace bb::cli
