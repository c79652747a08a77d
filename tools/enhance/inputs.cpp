#include "inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace gpen_tools {

namespace fs = std::filesystem;

namespace {

const char* const kImageExtensions[] = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"};
const char* const kVideoExtensions[] = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi",
                                        ".ts",  ".mts", ".m2ts", ".mpg", ".mpeg", ".ogv",
                                        ".flv", ".wmv", ".3gp"};

fs::path absolute_or_same(const fs::path& path) {
  std::error_code error;
  fs::path result = fs::weakly_canonical(path, error);
  return error ? path : result;
}

void add_folder(const fs::path& folder, const fs::path& output, InputList& list) {
  std::vector<InputItem> found;
  std::error_code error;
  const fs::path skip = absolute_or_same(output);
  auto options = fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(folder, options, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_directory() && absolute_or_same(it->path()) == skip) {
      it.disable_recursion_pending();  // never read what this run writes
      continue;
    }
    if (!it->is_regular_file() || !has_image_extension(it->path().string())) continue;
    found.push_back({it->path().string(), it->path().lexically_relative(folder).string(),
                     MediaKind::Image});
  }
  if (error) list.problems.push_back({folder.string(), error.message()});
  if (found.empty() && !error)
    list.problems.push_back(
        {folder.string(), "no images in it (jpg, jpeg, png, webp, bmp, tif, tiff)"});
  std::sort(found.begin(), found.end(),
            [](const InputItem& a, const InputItem& b) { return a.relative < b.relative; });
  list.items.insert(list.items.end(), found.begin(), found.end());
}

bool has_extension_in(const std::string& path, const char* const* begin, const char* const* end) {
  const std::string extension = extension_of(path);
  return std::any_of(begin, end, [&](const char* e) { return extension == e; });
}

}  // namespace

std::string extension_of(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

bool has_image_extension(const std::string& path) {
  return has_extension_in(path, std::begin(kImageExtensions), std::end(kImageExtensions));
}

bool has_video_extension(const std::string& path) {
  return has_extension_in(path, std::begin(kVideoExtensions), std::end(kVideoExtensions));
}

std::string with_extension(const std::string& relative, const std::string& extension) {
  return fs::path(relative).replace_extension(extension).string();
}

InputList collect_inputs(const std::vector<std::string>& arguments, const std::string& output) {
  InputList list;
  for (const auto& argument : arguments) {
    std::error_code error;
    const fs::file_status status = fs::status(argument, error);
    if (fs::is_directory(status)) {
      add_folder(argument, output, list);
    } else if (fs::is_regular_file(status)) {
      const std::string name = fs::path(argument).filename().string();
      list.items.push_back({argument, name,
                            has_image_extension(argument) ? MediaKind::Image : MediaKind::Video});
    } else {
      list.problems.push_back({argument, "no such file or folder"});
    }
  }
  return list;
}

}  // namespace gpen_tools
