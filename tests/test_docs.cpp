// The docs stay true to the code: every op declared in engine/ops has a row in docs/ops.md whose
// file:line is the op's definition and whose derivative is the comment beside its backward,
// every C++ snippet in the docs is either copied from a file the build compiles (and still
// matches it, line for line) or says it is pseudocode, and every engine/ and nn/ source file opens
// with a comment saying what it holds.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
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

// The derivative comments of every backward closure (a lambda passed to `record`) in a function
// body, as scripts/update_ops_index.py joins them: the comment lines opening each closure, "; "
// between lines (a space after one ending in ':'), closures joined by "; ", spaces collapsed.
std::string backward_comments(const std::vector<std::string>& body) {
  std::string text;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i].find("record(") == std::string::npos || trim(body[i]).rfind("//", 0) == 0) {
      continue;
    }
    size_t opening = i;
    const std::regex closure_opens(R"(\(const Tensor&[^)]*\) \{\s*$)");
    while (opening < body.size() && !std::regex_search(body[opening], closure_opens)) ++opening;
    std::string closure;
    for (size_t k = opening + 1; k < body.size() && trim(body[k]).rfind("//", 0) == 0; ++k) {
      const std::string part = trim(trim(body[k]).substr(2));
      if (!closure.empty()) closure += closure.back() == ':' ? " " : "; ";
      closure += part;
    }
    CHECK_MESSAGE(!closure.empty(), "a backward closure has no derivative comment: " << body[i]);
    if (!text.empty()) text += "; ";
    text += closure;
  }
  std::string collapsed;  // runs of spaces become one, as markdown shows them
  for (const char c : text) {
    if (c == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed += c;
  }
  return collapsed;
}

TEST_CASE("docs/ops.md: each row's file:line is its op's definition, its derivative the code's") {
  // | op | derivative | [engine/ops/F.cpp:N](../engine/ops/F.cpp#LN) |
  const std::regex row(
      R"(^\| (.+) \| (.+) \| \[(engine/ops/[a-z_]+\.cpp):(\d+)\]\(\.\./(engine/ops/[a-z_]+\.cpp)#L(\d+)\) \|$)");
  int rows = 0;
  for (const std::string& line : lines_of(read(kRoot / "docs" / "ops.md"))) {
    std::smatch match;
    if (!std::regex_match(line, match, row)) continue;
    ++rows;
    const std::string op = match[1], derivative = match[2], path = match[3];
    INFO("docs/ops.md, the row of " << op);
    REQUIRE_MESSAGE((match[5] == path && match[6] == match[4]),
                    "the link's text and target disagree: " << line);
    const std::vector<std::string> code = lines_of(read(kRoot / path));
    const size_t at = std::stoul(match[4].str()) - 1;
    REQUIRE_MESSAGE(at < code.size(), path << " has no line " << at + 1);
    // A definition starts at column 0 with a type and holds a '(' (not a comment, not a brace).
    const std::string& definition = code[at];
    const bool defines =
        !definition.empty() && std::isalpha(static_cast<unsigned char>(definition[0])) &&
        definition.find('(') != std::string::npos && definition.rfind("namespace", 0) != 0;
    REQUIRE_MESSAGE(defines, path << ":" << at + 1 << " is not a function definition: '"
                                  << definition << "' (run scripts/update_ops_index.py)");
    size_t end = at + 1;
    while (end < code.size() && code[end].rfind("}", 0) != 0) ++end;
    const std::vector<std::string> body(code.begin() + static_cast<std::ptrdiff_t>(at),
                                        code.begin() + static_cast<std::ptrdiff_t>(end));
    const std::string from_code = backward_comments(body);
    if (from_code.empty()) {
      // No backward of its own: the row must say where its gradient comes from, or that it has
      // none.
      CHECK_MESSAGE((derivative.rfind("composite", 0) == 0 ||
                     derivative.find("no gradient") != std::string::npos),
                    "the function at " << path << ":" << at + 1
                                       << " records no backward, yet the row says: " << derivative);
    } else {
      CHECK_MESSAGE(derivative == from_code,
                    "the row says '" << derivative << "' but the comment at the backward in "
                                     << path << ":" << at + 1 << " says '" << from_code
                                     << "' (run scripts/update_ops_index.py)");
    }
  }
  CHECK(rows > 40);  // the rows were found at all
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

TEST_CASE("dependencies run one way: engine < nn < examples, and autograd below the ops") {
  auto includes_of = [](const fs::path& file) {
    std::vector<std::string> found;
    for (const std::string& line : lines_of(read(file))) {
      if (line.rfind("#include \"", 0) == 0)
        found.push_back(line.substr(10, line.find('"', 10) - 10));
    }
    return found;
  };
  auto check_none = [&](const fs::path& file, const std::string& prefix) {
    for (const std::string& included : includes_of(file)) {
      CHECK_MESSAGE(included.rfind(prefix, 0) != 0, fs::relative(file, kRoot).string()
                                                        << " includes " << included);
    }
  };
  for (const fs::path& file : files_in(kRoot / "engine", {".hpp", ".cpp", ".cu", ".cuh"})) {
    check_none(file, "nn/");
    check_none(file, "examples/");
  }
  for (const fs::path& file : files_in(kRoot / "nn", {".hpp", ".cpp"}))
    check_none(file, "examples/");
  // Autograd drives the ops; it calls none of their families (only Tensor's own interface).
  check_none(kRoot / "engine" / "autograd.hpp", "engine/ops/");
  check_none(kRoot / "engine" / "autograd.cpp", "engine/ops/");
  // A Tensor user never sees the kernels' C interface.
  for (const char* header : {"tensor.hpp", "autograd.hpp", "device_backends.hpp"}) {
    check_none(kRoot / "engine" / header, "engine/backend.hpp");
  }
}
