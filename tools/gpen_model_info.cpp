// gpen-model-info: says what a model file is, reading it with the plugin's
// own checkpoint reader, and whether it is what it should be.
//
//   gpen-model-info FILE...                  kind, architecture, tensor count; exit 1 if invalid
//   gpen-model-info --as GPEN-BFR-512.pth F  also require what that released file is
//   gpen-model-info --list                   the released files (tab-separated), for fetch-models.sh
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "model_catalog.h"
#include "model_check.h"

namespace {

using namespace gpen_tools;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: gpen-model-info [--as RELEASED-NAME] [--expect gpen|retinaface|parsenet] "
               "[--size N] FILE...\n"
               "       gpen-model-info --list\n"
               "Reads each model file with gst-gpen's checkpoint reader and checks every tensor's\n"
               "shape against the network it is for. A file named like a released model (see\n"
               "--list) must also be that model. Exit status 1 when any file is not valid.\n");
}

void list_catalog() {
  // file, kind, size or backbone, fetched by default, url, source, purpose
  for (const auto& entry : model_catalog()) {
    const std::string detail = entry.kind == ModelKind::Gpen ? std::to_string(entry.gpen_size)
                               : entry.backbone             ? entry.backbone
                                                            : "-";
    const char* kind = entry.kind == ModelKind::Gpen         ? "gpen"
                       : entry.kind == ModelKind::RetinaFace ? "retinaface"
                                                             : "parsenet";
    std::cout << entry.file << '\t' << kind
              << '\t' << detail << '\t' << (entry.fetch_by_default ? "default" : "optional")
              << '\t' << entry.url << '\t' << entry.source << '\t' << entry.purpose << '\n';
  }
}

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  ModelExpectation forced;
  const CatalogEntry* as = nullptr;
  bool have_forced = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--list") {
      list_catalog();
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg == "--as" && has_value) {
      as = find_catalog_entry(argv[++i]);
      if (!as) {
        std::fprintf(stderr, "gpen-model-info: %s is not a released model (see --list)\n", argv[i]);
        return 2;
      }
    } else if (arg == "--expect" && has_value) {
      const std::string kind = argv[++i];
      if (kind == "gpen") forced.kind = ModelKind::Gpen;
      else if (kind == "retinaface") forced.kind = ModelKind::RetinaFace;
      else if (kind == "parsenet") forced.kind = ModelKind::ParseNet;
      else {
        usage(stderr);
        return 2;
      }
      have_forced = true;
    } else if (arg == "--size" && has_value) {
      forced.gpen_size = std::atoi(argv[++i]);
      have_forced = true;
    } else if (!arg.empty() && arg[0] == '-') {
      usage(stderr);
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    usage(stderr);
    return 2;
  }

  int invalid = 0;
  for (const auto& file : files) {
    const ModelReport report = inspect_model(file);
    // What the file must be: what was asked, else what its released name says.
    const CatalogEntry* entry = as ? as : find_catalog_entry(basename_of(file));
    ModelExpectation expected = have_forced ? forced : ModelExpectation{};
    if (!have_forced && entry) expected = expectation_for(*entry);
    const std::string unmet = unmet_expectation(report, expected);
    if (!unmet.empty()) {
      ++invalid;
      // Reader errors start with the file's name already.
      std::string why = unmet;
      if (why.rfind(file + ": ", 0) == 0) why.erase(0, file.size() + 2);
      std::printf("%s: NOT VALID: %s\n", file.c_str(), why.c_str());
      if (entry) std::printf("  expected: %s (%s)\n", entry->file, entry->purpose);
      continue;
    }
    std::printf("%s: %s, %s: %zu tensors, %.1f M parameters, every shape as expected\n",
                file.c_str(), kind_name(*report.kind), report.architecture.c_str(), report.tensors,
                static_cast<double>(report.parameters) / 1e6);
    if (entry) std::printf("  %s: %s\n  %s\n", entry->file, entry->purpose, kModelLicence);
  }
  return invalid ? 1 : 0;
}
