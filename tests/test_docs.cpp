// The docs stay true to the code: every op declared in engine/ops has a row in docs/ops.md,
// every C++ snippet in the docs is either copied from a file the build compiles (and still
// matches it, line for line) or says it is pseudocode, and every engine/ and nn/ source file opens
// with a comment saying what it holds.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/helpers.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = HEED_SOURCE_DIR;

std::string read(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<fs::path> files_in(const fs::path& dir, const std::set<std::string>& extensions) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && extensions.count(entry.path().extension().string()) > 0) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("docs/ops.md has a row for every op declared in engine/ops") {
  // The op column of the index, split into names: "matmul / bmm / mm", "eq, ne, lt".
  std::set<std::string> indexed;
  for (const std::string& line : lines_of(read(kRoot / "docs" / "ops.md"))) {
    if (line.rfind("| ", 0) != 0) continue;
    const std::string op_column = line.substr(2, line.find(" |", 2) - 2);
    std::string name;
    for (const char c : op_column + " ") {
      if (std::islower(static_cast<unsigned char>(c)) || c == '_' ||
          (!name.empty() && std::isdigit(static_cast<unsigned char>(c)))) {
        name += c;
      } else if (!name.empty()) {
        indexed.insert(name);
        name.clear();
      }
    }
  }
  // Free functions returning tensors, declared at the start of a line in an ops header:
  // "Tensor name(" or "std::vector<Tensor> name(".
  // Not ops: references the fused ops are tested against, and a factory.
  const std::set<std::string> not_ops = {"scalar_like"};
  int declared = 0;
  for (const fs::path& header : files_in(kRoot / "engine" / "ops", {".hpp"})) {
    for (const std::string& line : lines_of(read(header))) {
      std::string rest;
      for (const char* type : {"Tensor ", "std::vector<Tensor> "}) {
        if (line.rfind(type, 0) == 0) rest = line.substr(std::string(type).size());
      }
      const size_t paren = rest.find('(');
      if (paren == std::string::npos || paren == 0) continue;
      const std::string name = rest.substr(0, paren);
      if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos) {
        continue;
      }
      if (name.size() > 10 && name.substr(name.size() - 10) == "_composite") continue;
      if (not_ops.count(name) > 0) continue;
      ++declared;
      CHECK_MESSAGE(indexed.count(name) > 0, name << " (declared in " << header.filename().string()
                                                  << ") has no row in docs/ops.md: add it to "
                                                     "scripts/update_ops_index.py and run it");
    }
  }
  CHECK(declared > 40);  // the scan found the ops at all
}

TEST_CASE("every C++ snippet in the docs is compiled code or marked as pseudocode") {
  std::vector<fs::path> documents = files_in(kRoot / "docs", {".md"});
  documents.push_back(kRoot / "README.md");
  int snippets = 0;
  for (const fs::path& document : documents) {
    const std::vector<std::string> lines = lines_of(read(document));
    std::string source;  // from the last "<!-- from: path -->" marker
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string line = trim(lines[i]);
      if (line.rfind("<!-- from: ", 0) == 0) {
        source = line.substr(11, line.find(" -->") - 11);
        continue;
      }
      if (line != "```cpp") {
        if (!line.empty() && line.rfind("```", 0) != 0) source.clear();  // prose between
        continue;
      }
      std::vector<std::string> block;
      for (++i; i < lines.size() && trim(lines[i]) != "```"; ++i) block.push_back(lines[i]);
      ++snippets;
      INFO(document.filename().string() << ", the snippet ending at line " << i + 1);
      if (!block.empty() && trim(block[0]).rfind("// pseudocode", 0) == 0) continue;
      REQUIRE_MESSAGE(!source.empty(),
                      "not marked: put <!-- from: path --> above it, or start it with "
                      "// pseudocode");
      // Every line of the snippet appears in the source, in order (indentation aside; a line
      // "..." marks lines left out).
      const std::vector<std::string> code = lines_of(read(kRoot / source));
      size_t at = 0;
      for (const std::string& snippet_line : block) {
        const std::string wanted = trim(snippet_line);
        if (wanted.empty() || wanted == "...") continue;
        while (at < code.size() && trim(code[at]) != wanted) ++at;
        CHECK_MESSAGE(at < code.size(), "this line is not (or no longer) in " << source << ":\n"
                                                                              << snippet_line);
        if (at == code.size()) break;
        ++at;
      }
      source.clear();
    }
  }
  CHECK(snippets > 5);
}

TEST_CASE("every engine/ and nn/ source file opens with a comment saying what it holds") {
  for (const char* dir : {"engine", "nn"}) {
    for (const fs::path& file : files_in(kRoot / dir, {".hpp", ".cpp", ".cu", ".cuh"})) {
      const std::vector<std::string> lines = lines_of(read(file));
      CHECK_MESSAGE((!lines.empty() && lines[0].rfind("//", 0) == 0),
                    fs::relative(file, kRoot).string() << " does not open with a comment");
    }
  }
}
