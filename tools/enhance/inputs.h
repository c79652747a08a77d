// What gpen-enhance was given: image files, folders of images, videos; and
// where each result goes under OUTPUT.
#pragma once

#include <string>
#include <vector>

namespace gpen_tools {

enum class MediaKind { Image, Video };

struct InputItem {
  std::string path;      // as found
  std::string relative;  // its path under OUTPUT, before any change of extension
  MediaKind kind = MediaKind::Image;
};

// An input that does not exist, an empty folder...
struct InputProblem {
  std::string input;  // the argument
  std::string why;
  std::string text() const { return input + ": " + why; }
};

struct InputList {
  std::vector<InputItem> items;
  std::vector<InputProblem> problems;
};

// Image files by extension (case-insensitive): jpg, jpeg, png, webp, bmp, tif, tiff.
bool has_image_extension(const std::string& path);
// Files given by name that are not images are taken as videos.
bool has_video_extension(const std::string& path);

// Expands folders (recursively, images only, sorted, skipping `output` if it
// lies inside one); a folder's files keep their paths relative to it, a
// file given by name keeps its name.
InputList collect_inputs(const std::vector<std::string>& arguments, const std::string& output);

// `relative` with its extension replaced by `extension` (".png").
std::string with_extension(const std::string& relative, const std::string& extension);
std::string extension_of(const std::string& path);  // lower case, with the dot

}  // namespace gpen_tools
