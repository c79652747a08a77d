#include "locations.h"

#include <glib.h>

#include <filesystem>
#include <sstream>
#include <system_error>

#include "model_catalog.h"

namespace gpen_tools {

namespace fs = std::filesystem;

namespace {

// Set by tools/meson.build.
constexpr const char* kBuildToolsDir = GPEN_BUILD_TOOLS_DIR;
constexpr const char* kBuildPluginDir = GPEN_BUILD_PLUGIN_DIR;
constexpr const char* kSourceModelDir = GPEN_SOURCE_MODEL_DIR;
constexpr const char* kRelativeBindir = GPEN_RELATIVE_BINDIR;        // e.g. "bin"
constexpr const char* kRelativePluginDir = GPEN_RELATIVE_PLUGINDIR;  // e.g. "lib/x86_64-linux-gnu/gstreamer-1.0"
constexpr const char* kRelativeModelDir = GPEN_RELATIVE_MODELDIR;    // e.g. "share/gst-gpen/models"

fs::path canonical_or_empty(const fs::path& path) {
  std::error_code error;
  fs::path result = fs::canonical(path, error);
  return error ? fs::path() : result;
}

// The installation prefix: the executable's folder minus the bindir, so
// that a relocated installation still finds its plugin and models.
fs::path install_prefix(const fs::path& exe_dir) {
  fs::path prefix = exe_dir;
  const fs::path bindir(kRelativeBindir);
  for (auto part = bindir.begin(); part != bindir.end(); ++part) prefix = prefix.parent_path();
  return prefix;
}

}  // namespace

bool is_file(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

Locations find_locations() {
  Locations where;
  const fs::path exe_dir = canonical_or_empty("/proc/self/exe").parent_path();
  const fs::path build_tools = canonical_or_empty(kBuildToolsDir);
  where.in_build_tree = !exe_dir.empty() && exe_dir == build_tools;
  fs::path model_dir;
  if (where.in_build_tree) {
    where.plugin_dir = kBuildPluginDir;
    model_dir = kSourceModelDir;
  } else {
    const fs::path prefix = install_prefix(exe_dir);
    where.plugin_dir = (prefix / kRelativePluginDir).string();
    model_dir = prefix / kRelativeModelDir;
  }
  where.fetch_script = (model_dir / "fetch-models.sh").string();
  const gchar* env = g_getenv("GPEN_MODEL_DIR");
  where.model_dir = env && *env ? std::string(env) : model_dir.string();
  return where;
}

void use_plugin_dir(const Locations& locations) {
  const gchar* current = g_getenv("GST_PLUGIN_PATH");
  std::string path = locations.plugin_dir;
  if (current && *current) path += G_SEARCHPATH_SEPARATOR_S + std::string(current);
  g_setenv("GST_PLUGIN_PATH", path.c_str(), TRUE);
}

std::string resolve_model(const std::string& given, const std::string& fallback,
                          const Locations& locations) {
  const fs::path dir = locations.model_dir;
  if (given.empty()) return (dir / fallback).string();
  if (is_file(given) || given.find('/') != std::string::npos) return given;
  if (const CatalogEntry* entry = find_catalog_entry(given)) return (dir / entry->file).string();
  return (dir / given).string();
}

std::string missing_model_message(const std::string& path, const Locations& locations) {
  std::ostringstream out;
  const std::string name = fs::path(path).filename().string();
  out << "model file not found: " << path << "\n";
  if (const CatalogEntry* entry = find_catalog_entry(name)) {
    fs::path folder = fs::path(path).parent_path();
    if (folder.empty()) folder = ".";
    // The script saves into the model folder unless told another.
    const std::string dir_option =
        folder == fs::path(locations.model_dir) ? "" : " --dir " + folder.string();
    out << "  " << entry->file << ": " << entry->purpose << ".\n"
        << "  Get it with:  " << locations.fetch_script << dir_option << " " << entry->file << "\n"
        << "  or download " << entry->url << "\n"
        << "  and save it as " << path << " (from " << entry->source << ").\n"
        << "  The model folder is " << locations.model_dir << " (GPEN_MODEL_DIR sets another).\n"
        << "  " << kModelLicence;
  } else {
    out << "  Give an existing file, or a released model's name (" << locations.fetch_script
        << " --list shows them).";
  }
  return out.str();
}

}  // namespace gpen_tools
